"""PJSIP endpoints as ListExtensions needs them, from one `PJSIPShowEndpoints`.

What Asterisk 22 answers (observed on the lab):

    Response: Success / EventList: start / Message: A listing of Endpoints follows, ...
    Event: EndpointList
      ObjectType: endpoint        ObjectName: 101       Transport: transport-udp
      Aor: 101                    Auths:                OutboundAuths:
      Contacts: 101/sip:101@127.0.0.1:5071,             (`aor/uri,` per contact, no status)
      DeviceState: Not in use     ActiveChannels: 0
    ... one EndpointList per endpoint ...
    Event: EndpointListComplete / EventList: Complete / ListItems: 5

With no endpoint configured Asterisk answers `Response: Error` /
`Message: No endpoints found`: that is an empty list, not a failure.

Reachability. `EndpointList` carries no per-contact status (that is only in
`PJSIPShowEndpoint`'s `ContactStatusDetail`: `Reachable`, `Unreachable`,
`Unknown`, `NonQualified`, one action per endpoint) and `PJSIPShowContacts`
lists only registered contacts, not static ones. But a PJSIP endpoint's
`DeviceState` is `Unavailable` exactly when Asterisk counts none of its
contacts as available: an unreachable qualified contact does not count, a
static contact with qualify off (`NonQualified`) does. So an endpoint is
`reachable` when it lists at least one contact and its DeviceState is neither
`Unavailable` nor `Invalid` (`In use`, `Ringing`, `Busy`, ... all mean reachable).
One round trip, whatever the number of endpoints.

Errors from the AMI client (`AmiUnavailable`, `AmiTimeout`, `AmiActionFailed`
other than "No endpoints found") propagate to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ast_bridge.asterisk.ami import AmiActionFailed, AmiClient

ACTION = {"Action": "PJSIPShowEndpoints"}
# device states (ast_devstate_str) that mean "no usable contact"
UNREACHABLE_STATES = frozenset({"unavailable", "invalid"})
_NO_ENDPOINTS = "no endpoints found"
_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Endpoint:
    name: str
    device_state: str  # as Asterisk spells it, e.g. "Not in use"; "" when absent
    reachable: bool
    contacts: tuple[str, ...] = ()  # contact URIs, e.g. "sip:101@127.0.0.1:5071"
    aor: str = ""
    # EndpointList carries no caller ID (only PJSIPShowEndpoint's `Callerid` does)
    callerid: str | None = None


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that orders digit runs by value: 2 < 10 < 101, `ext9` < `ext10`."""
    parts = _DIGITS.split(name)  # odd positions are always digit runs
    key = tuple(int(part) if i % 2 else part.lower() for i, part in enumerate(parts))
    return (key, name)


def _field(message: Mapping[str, Any], name: str) -> str:
    """One header's value as stripped text; a repeated header gives its first value."""
    value = message.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    if value is None:
        return ""
    return str(value).strip()


def parse_contacts(value: str) -> tuple[str, ...]:
    """`101/sip:101@127.0.0.1:5071,102/sip:...,` -> the URIs, in order."""
    uris = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        aor, slash, uri = item.partition("/")
        uri = (uri if slash else aor).strip()
        if uri:
            uris.append(uri)
    return tuple(uris)


def is_reachable(device_state: str, contacts: tuple[str, ...]) -> bool:
    return bool(contacts) and device_state.strip().lower() not in UNREACHABLE_STATES


def parse_endpoint_list(messages: Iterable[Mapping[str, Any]]) -> list[Endpoint]:
    """The endpoints in a `PJSIPShowEndpoints` answer (response + events), sorted by
    name (numeric-aware). Anything that is not a well-formed EndpointList is skipped."""
    endpoints: dict[str, Endpoint] = {}
    for message in messages:
        if _field(message, "Event").lower() != "endpointlist":
            continue
        object_type = _field(message, "ObjectType").lower()
        if object_type and object_type != "endpoint":
            continue
        name = _field(message, "ObjectName")
        if not name or name in endpoints:
            continue
        device_state = _field(message, "DeviceState")
        contacts = parse_contacts(_field(message, "Contacts"))
        endpoints[name] = Endpoint(
            name=name,
            device_state=device_state,
            reachable=is_reachable(device_state, contacts),
            contacts=contacts,
            aor=_field(message, "Aor"),
            callerid=_field(message, "Callerid") or None,
        )
    return sorted(endpoints.values(), key=lambda e: natural_key(e.name))


async def pjsip_endpoints(ami: AmiClient, timeout: float | None = None) -> list[Endpoint]:
    """All PJSIP endpoints, sorted by name. Raises the AMI client's errors."""
    try:
        messages = await ami.send_list(dict(ACTION), timeout=timeout)
    except AmiActionFailed as exc:
        if _NO_ENDPOINTS in str(exc).lower():
            return []
        raise
    return parse_endpoint_list(messages)
