"""ListExtensions and ListExtensionTypes: the PBX's PJSIP endpoints as Ozeki
extensions (reference §4.6, §5.11, §5.12).

Every PJSIP endpoint is one extension; its name is the phone number.

* O10: `<Extensions><ExtensionSummary><Id>101@{domain}</Id><PhoneNumber>101</PhoneNumber>
  <Type>Phone</Type><State>Connected</State></ExtensionSummary>...</Extensions>`, where
  the domain is the `extension_domain` setting (`localhost` by default) and `State` is
  `Connected` when the endpoint has a usable contact (see asterisk/endpoints.py: a
  static contact with qualify off counts), else `Disconnected`. The optional `Type`
  parameter filters by type, in any case; a type the bridge has no extensions of
  (e.g. `IVR extension`) gives an empty `<Extensions />` without asking Asterisk.
* XE: `<Extensions><ExtensionSummary><Id>101</Id><Type>SIP</Type></ExtensionSummary>...
  </Extensions>`; `Type` is not an XE parameter and is ignored.
* Extensions are sorted by name, numeric-aware (2 < 10 < 101).
* ListExtensionTypes: `<ExtensionTypes><ExtensionType>Phone</ExtensionType></ExtensionTypes>`
  (O10), the same with `SIP` (XE). Element names are inferred (reference §5.12).

When Asterisk cannot be asked (AMI down, no answer in time, or the action refused)
the answer is 303 "Command '{command}' cannot be used here": Ozeki documents no
better code for ListExtensions, and an empty list would wrongly say "no extensions".
"""

from __future__ import annotations

import logging

from ast_bridge.asterisk.ami import AmiActionFailed, AmiTimeout, AmiUnavailable
from ast_bridge.asterisk.endpoints import Endpoint, natural_key, pjsip_endpoints
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.codes import Code, Outcome, OzekiError
from ast_bridge.http.ozeki_xml import Node
from ast_bridge.http.params import Params
from ast_bridge.settings import Dialect

log = logging.getLogger(__name__)

O10_TYPE = "Phone"
XE_TYPE = "SIP"
CONNECTED = "Connected"
DISCONNECTED = "Disconnected"
DEFAULT_DOMAIN = "localhost"


def extension_domain(services: Services) -> str:
    domain = getattr(services.settings, "extension_domain", None)
    if domain is None:
        return DEFAULT_DOMAIN
    return str(domain).strip() or DEFAULT_DOMAIN


def o10_extension(endpoint: Endpoint, domain: str) -> Node:
    return ("ExtensionSummary", (
        ("Id", f"{endpoint.name}@{domain}"),
        ("PhoneNumber", endpoint.name),
        ("Type", O10_TYPE),
        ("State", CONNECTED if endpoint.reachable else DISCONNECTED),
    ))


def xe_extension(endpoint: Endpoint) -> Node:
    return ("ExtensionSummary", (
        ("Id", endpoint.name),
        ("Type", XE_TYPE),
    ))


async def _endpoints(services: Services, request: Request) -> list[Endpoint]:
    try:
        endpoints = await pjsip_endpoints(services.ami)
    except (AmiUnavailable, AmiTimeout, AmiActionFailed) as exc:
        log.warning("%s: cannot list PJSIP endpoints: %s", request.command, exc)
        raise OzekiError(Code.INAPPROPRIATE_COMMAND, request.command) from None
    return sorted(endpoints, key=lambda e: natural_key(e.name))


async def list_extensions(services: Services, request: Request, params: Params) -> Outcome:
    if request.dialect is Dialect.XE:
        endpoints = await _endpoints(services, request)
        return Outcome(payload=(("Extensions", tuple(xe_extension(e) for e in endpoints)),))
    wanted = params.text("Type", required=False)
    if wanted is not None and wanted.lower() != O10_TYPE.lower():
        return Outcome(payload=(("Extensions", ()),))
    endpoints = await _endpoints(services, request)
    domain = extension_domain(services)
    return Outcome(payload=(("Extensions", tuple(o10_extension(e, domain) for e in endpoints)),))


async def list_extension_types(services: Services, request: Request, params: Params) -> Outcome:
    kind = XE_TYPE if request.dialect is Dialect.XE else O10_TYPE
    return Outcome(payload=(("ExtensionTypes", (("ExtensionType", kind),)),))
