"""AMI action helpers: the exact Originate of a CallSetup, and what they refuse."""

from __future__ import annotations

import dataclasses

import pytest

from ast_bridge.asterisk.actions import (
    CallSetupRequest,
    call_id_from_action_id,
    call_setup_action_id,
    call_setup_originate,
    originate_call_setup,
)
from ast_bridge.asterisk.ami import AmiUnsafeValue, check_action, encode_action

SAMPLE = CallSetupRequest(call_id="H2Wwb", caller="101", callee="+3612345",
                          caller_context="ast-bridge-caller", callee_context="ast-bridge-callee", ring_timeout=30)

EXPECTED = {
    "Action": "Originate",
    "ActionID": "astb-cs-H2Wwb",
    "Channel": "Local/101@ast-bridge-caller",
    "Context": "ast-bridge-callee",
    "Exten": "+3612345",
    "Priority": "1",
    "Timeout": "35000",
    "CallerID": '"+3612345" <+3612345>',
    "Async": "true",
    "ChannelId": "astb-H2Wwb",
    "OtherChannelId": "astb-H2Wwb-2",
    "Variable": [
        "__AST_BRIDGE_CALLID=H2Wwb",
        "__AST_BRIDGE_CALLER=101",
        "__AST_BRIDGE_RING_TIMEOUT=30",
    ],
}


def test_call_setup_originate_exact_dict() -> None:
    assert call_setup_originate(SAMPLE) == EXPECTED


def test_call_setup_originate_wire_format() -> None:
    action = call_setup_originate(dataclasses.replace(SAMPLE, callee="102", ring_timeout=5))
    check_action(action)
    assert encode_action(action) == (
        b"Action: Originate\r\n"
        b"ActionID: astb-cs-H2Wwb\r\n"
        b"Channel: Local/101@ast-bridge-caller\r\n"
        b"Context: ast-bridge-callee\r\n"
        b"Exten: 102\r\n"
        b"Priority: 1\r\n"
        b"Timeout: 10000\r\n"
        b'CallerID: "102" <102>\r\n'
        b"Async: true\r\n"
        b"ChannelId: astb-H2Wwb\r\n"
        b"OtherChannelId: astb-H2Wwb-2\r\n"
        b"Variable: __AST_BRIDGE_CALLID=H2Wwb\r\n"
        b"Variable: __AST_BRIDGE_CALLER=101\r\n"
        b"Variable: __AST_BRIDGE_RING_TIMEOUT=5\r\n"
        b"\r\n"
    )


@pytest.mark.parametrize("field", ["caller", "callee"])
@pytest.mark.parametrize("value", ["101&PJSIP/102", "101,1", "101|x", "101/x", "101@ctx", "10 1", "${EXTEN}",
                                   "_X.", "1" * 41, "", "101\r\nAction: Hangup", '1"<2>'])
def test_refuses_unsafe_numbers(field: str, value: str) -> None:
    with pytest.raises(AmiUnsafeValue, match=f"{field} number"):
        call_setup_originate(dataclasses.replace(SAMPLE, **{field: value}))


@pytest.mark.parametrize("field", ["caller_context", "callee_context"])
@pytest.mark.parametrize("value", ["", "ctx,1", "ctx@other", "ctx 1", "ctx\n", "ctx/x", "${CTX}", "c" * 81,
                                   "ctx.x"])
def test_refuses_unsafe_contexts(field: str, value: str) -> None:
    with pytest.raises(AmiUnsafeValue, match=field.replace("_", " ")):
        call_setup_originate(dataclasses.replace(SAMPLE, **{field: value}))


def test_context_limits_accepted() -> None:
    action = call_setup_originate(dataclasses.replace(SAMPLE, caller_context="c" * 80, callee_context="a_b-C9"))
    assert action["Channel"] == "Local/101@" + "c" * 80
    assert action["Context"] == "a_b-C9"


@pytest.mark.parametrize("value", ["", "ab-c", "a" * 33, "a,b", "a\nb"])
def test_refuses_unsafe_call_ids(value: str) -> None:
    with pytest.raises(AmiUnsafeValue, match="call id"):
        call_setup_originate(dataclasses.replace(SAMPLE, call_id=value))


def test_action_id_roundtrip() -> None:
    assert call_setup_action_id("H2Wwb") == "astb-cs-H2Wwb"
    assert call_id_from_action_id("astb-cs-H2Wwb") == "H2Wwb"
    assert call_id_from_action_id("astb-12") is None
    assert call_id_from_action_id("") is None


async def test_originate_call_setup_sends_the_action() -> None:
    sent = []

    class FakeAmi:
        async def send(self, action, timeout=None):
            sent.append(action)

    await originate_call_setup(FakeAmi(), SAMPLE)  # type: ignore[arg-type]
    assert sent == [EXPECTED]
