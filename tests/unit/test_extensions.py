"""ListExtensions / ListExtensionTypes over a fake AMI that answers PJSIPShowEndpoints
the way the lab's Asterisk 22 does (frames copied from a real answer)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from panoramisk.message import Message

from ast_bridge.asterisk.ami import AmiActionFailed, AmiTimeout, AmiUnavailable
from ast_bridge.asterisk.endpoints import (
    Endpoint,
    natural_key,
    parse_contacts,
    parse_endpoint_list,
    pjsip_endpoints,
)
from ast_bridge.commands.context import Request
from ast_bridge.commands.extensions import list_extension_types, list_extensions
from ast_bridge.http.codes import Code, OzekiError
from ast_bridge.http.ozeki_xml import render_response
from ast_bridge.http.params import Limits, Params
from ast_bridge.settings import Dialect

ACTION_ID = "astb-7"


def frame(*lines: str) -> Message:
    message = Message.from_line("\r\n".join(lines))
    assert message is not None
    return message


def start() -> Message:
    return frame("Response: Success", f"ActionID: {ACTION_ID}", "EventList: start",
                 "Message: A listing of Endpoints follows, presented as EndpointList events")


def endpoint(name: str, device_state: str = "Not in use", contacts: str | None = None) -> Message:
    port = 5070 + int(name) % 100 if name.isdigit() else 5099
    if contacts is None:
        contacts = f"{name}/sip:{name}@127.0.0.1:{port},"
    return frame(
        "Event: EndpointList", f"ActionID: {ACTION_ID}", "ObjectType: endpoint", f"ObjectName: {name}",
        "Transport: transport-udp", f"Aor: {name}", "Auths: ", "OutboundAuths: ", f"Contacts: {contacts}",
        f"DeviceState: {device_state}", "ActiveChannels: 0",
    )


def complete(count: int) -> Message:
    return frame("Event: EndpointListComplete", f"ActionID: {ACTION_ID}", "EventList: Complete",
                 f"ListItems: {count}")


def answer(*events: Message) -> list[Message]:
    return [start(), *events, complete(len(events))]


LAB = answer(*(endpoint(n) for n in ("101", "102", "103", "104", "105")))


class FakeAmi:
    def __init__(self, result: list[Message] | Exception) -> None:
        self.result = result
        self.actions: list[dict] = []

    async def send_list(self, action, timeout=None):
        self.actions.append(dict(action))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def services(ami: FakeAmi, **settings: object) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(**settings), ami=ami)


def request(command: str, dialect: Dialect = Dialect.O10) -> Request:
    return Request(command=command, dialect=dialect, username="HTTP_User_1")


def params(command: str, **values: str) -> Params:
    return Params([("command", command), *values.items()], Limits())


async def run_list(ami: FakeAmi, dialect: Dialect = Dialect.O10, svc: SimpleNamespace | None = None, **values: str):
    return await list_extensions(svc or services(ami), request("ListExtensions", dialect),
                                 params("ListExtensions", **values))


def o10(name: str, state: str = "Connected", domain: str = "localhost") -> tuple:
    return ("ExtensionSummary", (("Id", f"{name}@{domain}"), ("PhoneNumber", name), ("Type", "Phone"),
                                 ("State", state)))


def xe(name: str) -> tuple:
    return ("ExtensionSummary", (("Id", name), ("Type", "SIP")))


# --- asterisk/endpoints.py ------------------------------------------------------------
async def test_pjsip_endpoints_sends_one_action_and_parses_the_lab_answer() -> None:
    ami = FakeAmi(LAB)
    endpoints = await pjsip_endpoints(ami)
    assert ami.actions == [{"Action": "PJSIPShowEndpoints"}]
    assert endpoints[0] == Endpoint(name="101", device_state="Not in use", reachable=True,
                                    contacts=("sip:101@127.0.0.1:5071",), aor="101", callerid=None)
    assert [e.name for e in endpoints] == ["101", "102", "103", "104", "105"]
    assert all(e.reachable for e in endpoints)


async def test_no_endpoints_found_is_an_empty_list() -> None:
    error = AmiActionFailed("No endpoints found", frame("Response: Error", f"ActionID: {ACTION_ID}",
                                                         "Message: No endpoints found"))
    assert await pjsip_endpoints(FakeAmi(error)) == []


@pytest.mark.parametrize(("device_state", "contacts", "reachable"), [
    ("Not in use", "101/sip:101@127.0.0.1:5071,", True),
    ("In use", "101/sip:101@127.0.0.1:5071,", True),
    ("Ringing", "101/sip:101@127.0.0.1:5071,", True),
    ("Busy", "101/sip:101@127.0.0.1:5071,", True),
    ("Unavailable", "101/sip:101@127.0.0.1:5071,", False),  # its only contact is Unreachable
    ("Invalid", "101/sip:101@127.0.0.1:5071,", False),
    ("Unavailable", "", False),  # dynamic endpoint, not registered
    ("Not in use", "", False),  # no contact at all: nothing to reach
])
def test_reachability(device_state: str, contacts: str, reachable: bool) -> None:
    [parsed] = parse_endpoint_list(answer(endpoint("101", device_state, contacts)))
    assert parsed.reachable is reachable
    assert parsed.device_state == device_state


def test_parsing_is_defensive() -> None:
    odd = [
        start(),
        frame("Event: EndpointList", "ObjectType: endpoint", "ObjectName: "),  # no name
        frame("Event: EndpointList", "ObjectType: endpoint", "ObjectName: 7"),  # no state, no contacts
        frame("Event: EndpointList", "ObjectType: aor", "ObjectName: 8"),  # not an endpoint
        frame("Event: ContactStatus", "ObjectName: 9"),  # someone else's event
        endpoint("101"),
        endpoint("101", "Unavailable"),  # a duplicate: the first one wins
        complete(3),
    ]
    assert parse_endpoint_list(odd) == [
        Endpoint(name="7", device_state="", reachable=False),
        Endpoint(name="101", device_state="Not in use", reachable=True,
                 contacts=("sip:101@127.0.0.1:5071",), aor="101"),
    ]


def test_parse_contacts() -> None:
    assert parse_contacts("") == ()
    assert parse_contacts("101/sip:101@127.0.0.1:5071,") == ("sip:101@127.0.0.1:5071",)
    assert parse_contacts("a/sip:a@h1;transport=udp, a/sip:a@h2:5062 ,,") == (
        "sip:a@h1;transport=udp", "sip:a@h2:5062")


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["101", "alice", "10", "2", "ext10", "ext9", "Bob", "1000"]
    assert sorted(names, key=natural_key) == ["2", "10", "101", "1000", "alice", "Bob", "ext9", "ext10"]


# --- ListExtensions, O10 --------------------------------------------------------------
async def test_o10_exact_payload() -> None:
    outcome = await run_list(FakeAmi(LAB))
    assert outcome.code is Code.OK
    assert outcome.payload == (("Extensions", tuple(o10(n) for n in ("101", "102", "103", "104", "105"))),)


async def test_o10_exact_xml() -> None:
    outcome = await run_list(FakeAmi(answer(endpoint("101"), endpoint("102", "Unavailable"))))
    assert render_response(outcome.code, outcome.message, outcome.payload) == "\r\n".join([
        '<?xml version="1.0"?>',
        '<Response xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">',
        "  <Code>200</Code>",
        "  <Message>Command successfully executed</Message>",
        "  <Extensions>",
        "    <ExtensionSummary>",
        "      <Id>101@localhost</Id>",
        "      <PhoneNumber>101</PhoneNumber>",
        "      <Type>Phone</Type>",
        "      <State>Connected</State>",
        "    </ExtensionSummary>",
        "    <ExtensionSummary>",
        "      <Id>102@localhost</Id>",
        "      <PhoneNumber>102</PhoneNumber>",
        "      <Type>Phone</Type>",
        "      <State>Disconnected</State>",
        "    </ExtensionSummary>",
        "  </Extensions>",
        "</Response>",
    ]).encode()


async def test_o10_unreachable_endpoint_is_disconnected() -> None:
    ami = FakeAmi(answer(endpoint("101"), endpoint("102", "Unavailable"), endpoint("103", "Unavailable", ""),
                         endpoint("104", "In use")))
    outcome = await run_list(ami)
    assert outcome.payload == (("Extensions", (
        o10("101"), o10("102", "Disconnected"), o10("103", "Disconnected"), o10("104"))),)


async def test_sorted_numeric_aware() -> None:
    ami = FakeAmi(answer(*(endpoint(n) for n in ("105", "20", "1000", "3", "101"))))
    outcome = await run_list(ami)
    assert [summary[1][1][1] for summary in outcome.payload[0][1]] == ["3", "20", "101", "105", "1000"]
    outcome = await run_list(ami, Dialect.XE)
    assert [summary[1][0][1] for summary in outcome.payload[0][1]] == ["3", "20", "101", "105", "1000"]


async def test_domain_comes_from_the_settings() -> None:
    ami = FakeAmi(answer(endpoint("101")))
    outcome = await run_list(ami, svc=services(ami, extension_domain="pbx.example"))
    assert outcome.payload == (("Extensions", (o10("101", domain="pbx.example"),)),)
    outcome = await run_list(ami, svc=services(ami, extension_domain=""))
    assert outcome.payload == (("Extensions", (o10("101"),)),)


@pytest.mark.parametrize("wanted", ["Phone", "phone", "PHONE", " Phone "])
async def test_o10_type_filter_matches_phone_in_any_case(wanted: str) -> None:
    outcome = await run_list(FakeAmi(LAB), Type=wanted)
    assert outcome.payload == (("Extensions", tuple(o10(n) for n in ("101", "102", "103", "104", "105"))),)


@pytest.mark.parametrize("wanted", ["IVR extension", "Echo test", "SIP", "Phones"])
async def test_o10_unknown_type_gives_an_empty_list(wanted: str) -> None:
    ami = FakeAmi(LAB)
    outcome = await run_list(ami, Type=wanted)
    assert outcome.code is Code.OK
    assert outcome.payload == (("Extensions", ()),)
    assert ami.actions == []  # nothing to ask Asterisk
    assert b"  <Extensions />\r\n" in render_response(outcome.code, outcome.message, outcome.payload)


async def test_empty_pbx() -> None:
    outcome = await run_list(FakeAmi(AmiActionFailed("No endpoints found")))
    assert outcome.payload == (("Extensions", ()),)


# --- ListExtensions, XE ---------------------------------------------------------------
async def test_xe_exact_payload() -> None:
    ami = FakeAmi(answer(*(endpoint(n) for n in ("101", "102", "103", "104")), endpoint("105", "Unavailable")))
    outcome = await run_list(ami, Dialect.XE)
    assert outcome.payload == (("Extensions", tuple(xe(n) for n in ("101", "102", "103", "104", "105"))),)
    assert render_response(outcome.code, outcome.message, outcome.payload).endswith("\r\n".join([
        "  <Extensions>",
        "    <ExtensionSummary>",
        "      <Id>101</Id>",
        "      <Type>SIP</Type>",
        "    </ExtensionSummary>",
        "    <ExtensionSummary>",
        "      <Id>102</Id>",
        "      <Type>SIP</Type>",
        "    </ExtensionSummary>",
        "    <ExtensionSummary>",
        "      <Id>103</Id>",
        "      <Type>SIP</Type>",
        "    </ExtensionSummary>",
        "    <ExtensionSummary>",
        "      <Id>104</Id>",
        "      <Type>SIP</Type>",
        "    </ExtensionSummary>",
        "    <ExtensionSummary>",
        "      <Id>105</Id>",
        "      <Type>SIP</Type>",
        "    </ExtensionSummary>",
        "  </Extensions>",
        "</Response>",
    ]).encode())


async def test_xe_ignores_the_o10_type_parameter() -> None:
    outcome = await run_list(FakeAmi(LAB), Dialect.XE, Type="IVR extension")
    assert outcome.payload == (("Extensions", tuple(xe(n) for n in ("101", "102", "103", "104", "105"))),)


# --- AMI failures ---------------------------------------------------------------------
@pytest.mark.parametrize("dialect", [Dialect.O10, Dialect.XE])
@pytest.mark.parametrize("error", [
    AmiUnavailable("not connected to Asterisk"),
    AmiTimeout("no answer from Asterisk to PJSIPShowEndpoints"),
    AmiActionFailed("Permission denied"),
])
async def test_ami_failure_is_303(dialect: Dialect, error: Exception) -> None:
    with pytest.raises(OzekiError) as raised:
        await run_list(FakeAmi(error), dialect)
    assert raised.value.outcome.code is Code.INAPPROPRIATE_COMMAND
    assert raised.value.outcome.message == "Command 'ListExtensions' cannot be used here"


# --- ListExtensionTypes ---------------------------------------------------------------
@pytest.mark.parametrize(("dialect", "kind"), [(Dialect.O10, "Phone"), (Dialect.XE, "SIP")])
async def test_list_extension_types(dialect: Dialect, kind: str) -> None:
    ami = FakeAmi(AmiUnavailable("not needed"))
    outcome = await list_extension_types(services(ami), request("ListExtensionTypes", dialect),
                                         params("ListExtensionTypes"))
    assert outcome.code is Code.OK
    assert outcome.payload == (("ExtensionTypes", (("ExtensionType", kind),)),)
    assert render_response(outcome.code, outcome.message, outcome.payload).endswith(
        f"  <ExtensionTypes>\r\n    <ExtensionType>{kind}</ExtensionType>\r\n  </ExtensionTypes>\r\n"
        "</Response>".encode())
    assert ami.actions == []
