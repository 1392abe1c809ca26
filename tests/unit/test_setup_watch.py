"""CallSetupWatch: which AMI events produce an ErrorUrl notification, and how often."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest
from panoramisk.message import Message

from ast_bridge.calls import setup_watch
from ast_bridge.calls.setup_watch import CallSetupWatch

ERROR_URL = "http://client.example/error"
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")
GRACE = 0.1


class FakeSender:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    def submit(self, url: str, fields: dict[str, str]) -> str:
        self.calls.append((url, dict(fields)))
        return f"n{len(self.calls)}"


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def watch(sender: FakeSender) -> CallSetupWatch:
    w = CallSetupWatch(sender)  # type: ignore[arg-type]
    w.register("H2Wwb", "101", "102", ERROR_URL)
    return w


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(setup_watch, "ORIGINATE_GRACE", GRACE)
    return GRACE


def leg(call_id: str, party: str, number: str, status: str, cause: str = "16") -> Message:
    return Message({"Event": "UserEvent", "Privilege": "user,all", "UserEvent": "AstBridgeLeg",
                    "CallId": call_id, "Party": party, "Number": number, "DialStatus": status,
                    "HangupCause": cause})


def originate_response(call_id: str, response: str = "Failure", reason: str = "5") -> Message:
    return Message({"Event": "OriginateResponse", "ActionID": f"astb-cs-{call_id}", "Response": response,
                    "Channel": "Local/101@ast-bridge-caller", "Context": "ast-bridge-callee",
                    "Exten": "102", "Reason": reason, "Uniqueid": "<null>"})


def check_time(fields: dict[str, str]) -> dict[str, str]:
    stamp = fields.pop("Time")
    assert TIME_RE.fullmatch(stamp), stamp
    assert abs(datetime.fromisoformat(stamp) - datetime.now(timezone.utc)) < timedelta(seconds=5)
    return fields


# --- UserEvent AstBridgeLeg -----------------------------------------------------------
def test_busy_callee_sends_one_error(watch: CallSetupWatch, sender: FakeSender) -> None:
    watch.on_user_event(leg("H2Wwb", "callee", "102", "BUSY", "17"))
    assert len(sender.calls) == 1
    url, fields = sender.calls[0]
    assert url == ERROR_URL
    assert check_time(fields) == {
        "NotificationName": "Error",
        "CallId": "H2Wwb",
        "Caller": "101",
        "Callee": "102",
        "CallState": "Busy",
        "Reason": "Busy",
        "FailedParty": "callee",
        "FailedNumber": "102",
        "DialStatus": "BUSY",
        "HangupCause": "17",
    }
    assert len(watch) == 0
    watch.on_user_event(leg("H2Wwb", "caller", "101", "BUSY"))  # reported once only
    assert len(sender.calls) == 1


def test_answered_callee_is_forgotten_silently(watch: CallSetupWatch, sender: FakeSender) -> None:
    watch.on_user_event(leg("H2Wwb", "callee", "102", "ANSWER"))
    assert sender.calls == []
    assert len(watch) == 0
    watch.on_user_event(leg("H2Wwb", "callee", "102", "BUSY"))  # too late: no longer followed
    assert sender.calls == []


def test_answered_caller_keeps_following_the_callee(watch: CallSetupWatch, sender: FakeSender) -> None:
    watch.on_user_event(leg("H2Wwb", "caller", "101", "ANSWER"))
    assert sender.calls == []
    assert len(watch) == 1
    watch.on_user_event(leg("H2Wwb", "callee", "102", "NOANSWER", "19"))
    fields = check_time(sender.calls[0][1])
    assert (fields["CallState"], fields["Reason"], fields["FailedParty"], fields["DialStatus"],
            fields["HangupCause"]) == ("Busy", "NotAnswered", "callee", "NOANSWER", "19")


def test_notfound(watch: CallSetupWatch, sender: FakeSender) -> None:
    watch.on_user_event(leg("H2Wwb", "caller", "101", "NOTFOUND", "1"))
    assert len(sender.calls) == 1
    assert check_time(sender.calls[0][1]) == {
        "NotificationName": "Error", "CallId": "H2Wwb", "Caller": "101", "Callee": "102",
        "CallState": "Error", "Reason": "NotFound", "FailedParty": "caller", "FailedNumber": "101",
        "DialStatus": "NOTFOUND", "HangupCause": "1",
    }


@pytest.mark.parametrize(("status", "state", "reason"), [
    ("CONGESTION", "Error", "Congestion"), ("CHANUNAVAIL", "Error", "Unavailable"),
    ("CANCEL", "Cancelled", "Cancelled"), ("busy", "Busy", "Busy"), ("WHATEVER", "Error", "Error"),
    ("", "Error", "Error"),
])
def test_status_mapping(watch: CallSetupWatch, sender: FakeSender, status: str, state: str, reason: str) -> None:
    watch.on_user_event(leg("H2Wwb", "callee", "102", status))
    fields = sender.calls[0][1]
    assert (fields["CallState"], fields["Reason"], fields["DialStatus"]) == (state, reason, status.upper())


def test_unknown_call_id_and_other_user_events_ignored(watch: CallSetupWatch, sender: FakeSender) -> None:
    watch.on_user_event(leg("Other1", "callee", "102", "BUSY"))
    other = leg("H2Wwb", "callee", "102", "BUSY")
    other["UserEvent"] = "SomethingElse"
    watch.on_user_event(other)
    assert sender.calls == []
    assert len(watch) == 1


def test_no_error_url_forgets_without_sending(sender: FakeSender) -> None:
    watch = CallSetupWatch(sender)  # type: ignore[arg-type]
    watch.register("abc", "101", "102", None)
    watch.on_user_event(leg("abc", "callee", "102", "BUSY"))
    assert sender.calls == []
    assert len(watch) == 0


def test_forget(watch: CallSetupWatch, sender: FakeSender) -> None:
    watch.forget("H2Wwb")
    watch.forget("unknown")
    watch.on_user_event(leg("H2Wwb", "callee", "102", "BUSY"))
    assert sender.calls == []


# --- OriginateResponse ---------------------------------------------------------------------
async def test_originate_failure_reported_after_grace(watch: CallSetupWatch, sender: FakeSender,
                                                      short_grace: float) -> None:
    watch.on_originate_response(originate_response("H2Wwb", reason="5"))
    await asyncio.sleep(short_grace / 2)
    assert sender.calls == []
    await asyncio.sleep(short_grace)
    assert len(sender.calls) == 1
    url, fields = sender.calls[0]
    assert url == ERROR_URL
    assert check_time(fields) == {
        "NotificationName": "Error", "CallId": "H2Wwb", "Caller": "101", "Callee": "102",
        "CallState": "Busy", "Reason": "Busy", "FailedParty": "caller", "FailedNumber": "101",
        "DialStatus": "ORIGINATE_REASON_5", "HangupCause": "",
    }
    assert len(watch) == 0


async def test_originate_failure_not_reported_when_user_event_came(watch: CallSetupWatch, sender: FakeSender,
                                                                   short_grace: float) -> None:
    watch.on_originate_response(originate_response("H2Wwb", reason="1"))
    watch.on_user_event(leg("H2Wwb", "caller", "101", "CHANUNAVAIL", "20"))
    await asyncio.sleep(short_grace * 2)
    assert len(sender.calls) == 1
    fields = sender.calls[0][1]
    assert (fields["DialStatus"], fields["Reason"], fields["HangupCause"]) == ("CHANUNAVAIL", "Unavailable", "20")


async def test_originate_failure_never_twice(watch: CallSetupWatch, sender: FakeSender,
                                             short_grace: float) -> None:
    watch.on_originate_response(originate_response("H2Wwb", reason="3"))
    watch.on_originate_response(originate_response("H2Wwb", reason="3"))
    await asyncio.sleep(short_grace * 2)
    watch.on_originate_response(originate_response("H2Wwb", reason="3"))  # after the report
    await asyncio.sleep(short_grace * 2)
    assert len(sender.calls) == 1
    fields = sender.calls[0][1]
    assert (fields["CallState"], fields["Reason"], fields["DialStatus"]) == ("Busy", "NotAnswered",
                                                                             "ORIGINATE_REASON_3")


@pytest.mark.parametrize(("reason", "state", "result", "status"), [
    ("1", "Error", "Error", "ORIGINATE_REASON_1"),
    ("8", "Error", "Congestion", "ORIGINATE_REASON_8"),
    ("0", "Error", "Rejected", "ORIGINATE_REASON_0"),
    ("", "Error", "Rejected", "ORIGINATE_REASON_0"),
])
async def test_originate_reason_mapping(watch: CallSetupWatch, sender: FakeSender, short_grace: float,
                                        reason: str, state: str, result: str, status: str) -> None:
    watch.on_originate_response(originate_response("H2Wwb", reason=reason))
    await asyncio.sleep(short_grace * 2)
    fields = sender.calls[0][1]
    assert (fields["CallState"], fields["Reason"], fields["DialStatus"]) == (state, result, status)


async def test_originate_success_and_foreign_ids_ignored(watch: CallSetupWatch, sender: FakeSender,
                                                         short_grace: float) -> None:
    watch.on_originate_response(originate_response("H2Wwb", response="Success", reason="4"))
    watch.on_originate_response(originate_response("Unknown1"))
    foreign = originate_response("H2Wwb")
    foreign["ActionID"] = "astb-7"
    watch.on_originate_response(foreign)
    await asyncio.sleep(short_grace * 2)
    assert sender.calls == []
    assert len(watch) == 1


def test_default_grace_is_half_a_second() -> None:
    assert setup_watch.ORIGINATE_GRACE == 0.5
