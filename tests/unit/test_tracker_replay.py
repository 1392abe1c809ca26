"""The call table replayed against AMI streams recorded from the lab's real Asterisk.

Each fixture in tests/fixtures/ami/ is the raw AMI stream of one scenario (see the
README there for how it was recorded). It is fed to `CallTracker.handle` in arrival
order with a fake clock that ticks one second per event, so times are event
positions, not wall time. For CallSetups the replay does what the bridge does
before its Originate: `expect_call_setup(CallId, Caller, Callee)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from panoramisk.message import Message

from ast_bridge.asterisk.actions import CALL_SETUP_CHANNEL_PREFIX
from ast_bridge.calls.model import Call, CallState, call_id_for_linkedid
from ast_bridge.calls.tracker import CallTracker

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ami"
RINGING, IN_CALL, COMPLETED = CallState.RINGING, CallState.IN_CALL, CallState.COMPLETED
BUSY, CANCELLED, ERROR = CallState.BUSY, CallState.CANCELLED, CallState.ERROR


# --- replay helper -------------------------------------------------------------------------
@cache
def _load(name: str) -> tuple[Message, ...]:
    raw = (FIXTURES / f"{name}.ami").read_bytes().decode("utf-8")
    # the stream starts with the Login response (no banner); messages end with a blank line
    frames = (Message.from_line(frame) for frame in raw.split("\r\n\r\n") if frame.strip())
    return tuple(message for message in frames if message is not None)


def load_messages(name: str) -> list[Message]:
    """The fixture's messages (Login response, events, OriginateResponses) in order."""
    return list(_load(name))


def call_setup_ids(messages: list[Message]) -> list[str]:
    """CallIds of the CallSetups in a stream, in the order their first channel appeared."""
    ids: list[str] = []
    for message in messages:
        linkedid = message.get("linkedid") or ""
        if message.get("event") == "Newchannel" and linkedid.startswith(CALL_SETUP_CHANNEL_PREFIX):
            call_id = linkedid[len(CALL_SETUP_CHANNEL_PREFIX):]
            if call_id not in ids:
                ids.append(call_id)
    return ids


@dataclass
class Replay:
    tracker: CallTracker
    changes: list[tuple[str, CallState, CallState | None]] = field(default_factory=list)
    ended: list[Call] = field(default_factory=list)
    now: float = 0.0

    @property
    def states(self) -> list[tuple[str, CallState]]:
        """Every change as (CallId, new state), in order."""
        return [(call_id, state) for call_id, state, _ in self.changes]

    def ended_call(self, call_id: str) -> Call:
        [call] = [c for c in self.ended if c.call_id == call_id]
        return call

    def feed(self, messages: list[Message], until=None) -> int:
        """Feed messages in order, one clock tick each; stop after the message on which
        `until(replay)` first holds. Returns how many messages were fed."""
        for count, message in enumerate(messages, 1):
            self.now += 1.0
            self.tracker.handle(message)
            if until is not None and until(self):
                return count
        return len(messages)


def new_replay(now: float = 0.0) -> Replay:
    replay = Replay(tracker=None, now=now)  # type: ignore[arg-type]
    replay.tracker = CallTracker(
        on_change=lambda call, old: replay.changes.append((call.call_id, call.state, old)),
        on_end=replay.ended.append,
        clock=lambda: replay.now,
    )
    return replay


def replay_fixture(name: str, setups: list[tuple[str, str]] = (), until=None) -> Replay:
    """Replay a fixture; `setups` are the (Caller, Callee) of its CallSetups, in the order
    they were made, announced to the tracker as the bridge's CallSetup command does."""
    messages = load_messages(name)
    replay = new_replay()
    ids = call_setup_ids(messages)
    assert len(ids) == len(setups), f"{name} holds CallSetups {ids}"
    for call_id, (caller, callee) in zip(ids, setups):
        replay.tracker.expect_call_setup(call_id, caller, callee)
    replay.feed(messages, until)
    return replay


def core_show_channels(tracker: CallTracker, duration: str = "00:00:05") -> list[Message]:
    """What `CoreShowChannels` would list for the channels the tracker knows."""
    listed = []
    for call in tracker.calls.values():
        for channel in call.channels.values():
            listed.append(Message({
                "Event": "CoreShowChannel", "Channel": channel.name, "Uniqueid": channel.uniqueid,
                "Linkedid": channel.linkedid, "ChannelState": channel.state,
                "CallerIDNum": channel.caller_num, "CallerIDName": channel.caller_name,
                "Exten": channel.exten, "BridgeId": channel.bridge or "", "Duration": duration,
            }))
    return listed


# --- CallSetup -------------------------------------------------------------------------------
def test_a_call_setup_answered_by_both_phones_rings_then_is_in_call_then_completes():
    replay = replay_fixture("callsetup_answered_then_hangup", [("101", "102")])
    [call_id] = call_setup_ids(load_messages("callsetup_answered_then_hangup"))

    assert replay.states == [(call_id, RINGING), (call_id, IN_CALL), (call_id, COMPLETED)]
    call = replay.ended_call(call_id)
    assert call.linkedid == f"astb-{call_id}"
    assert (call.source, call.destination, call.caller_id) == ("101", "102", "101")
    assert call.from_call_setup
    assert call.start_time < call.answer_time < call.end_time
    assert replay.tracker.calls == {}


def test_a_call_setup_is_in_call_only_once_the_callee_answers_not_when_the_caller_does():
    messages = load_messages("callsetup_answered_then_hangup")
    replay = replay_fixture("callsetup_answered_then_hangup", [("101", "102")])
    call = replay.ended[0]
    answered_by = messages[int(call.answer_time) - 1]  # one tick per message

    assert answered_by.get("event") == "Newstate"
    assert answered_by.get("channel").startswith("PJSIP/102-")
    assert answered_by.get("channelstate") == "6"


def test_a_call_setup_to_a_busy_callee_rings_then_ends_busy():
    replay = replay_fixture("callsetup_callee_busy", [("101", "105")])
    [call_id] = call_setup_ids(load_messages("callsetup_callee_busy"))

    assert replay.states == [(call_id, RINGING), (call_id, BUSY)]
    call = replay.ended_call(call_id)
    assert (call.source, call.destination) == ("101", "105")
    assert call.answer_time is None
    assert call.last_dial_status == "BUSY"


def test_a_call_setup_whose_caller_is_busy_rings_then_ends_busy():
    replay = replay_fixture("callsetup_caller_busy", [("105", "101")])
    [call_id] = call_setup_ids(load_messages("callsetup_caller_busy"))

    assert replay.states[:2] == [(call_id, RINGING), (call_id, BUSY)]
    call = replay.ended_call(call_id)
    assert (call.source, call.destination) == ("105", "101")
    assert call.answer_time is None
    # ... and it is the only one: the `failed` channel of the Originate is no call
    assert len(replay.ended) == 1


def test_a_call_setup_whose_caller_is_busy_is_the_only_call_reported():
    replay = replay_fixture("callsetup_caller_busy", [("105", "101")])
    [call_id] = call_setup_ids(load_messages("callsetup_caller_busy"))

    assert replay.states == [(call_id, RINGING), (call_id, BUSY)]


def test_a_call_setup_to_a_callee_that_never_answers_rings_then_ends_busy():
    # Ozeki's Busy also means "rang past the configured ring time"
    replay = replay_fixture("callsetup_callee_no_answer", [("101", "104")])
    [call_id] = call_setup_ids(load_messages("callsetup_callee_no_answer"))

    assert replay.states == [(call_id, RINGING), (call_id, BUSY)]
    call = replay.ended_call(call_id)
    assert (call.source, call.destination) == ("101", "104")
    assert call.answer_time is None
    assert call.last_dial_status == "NOANSWER"


def test_a_call_setup_to_an_unknown_number_rings_then_ends_in_error():
    replay = replay_fixture("callsetup_callee_unknown", [("101", "999")])
    [call_id] = call_setup_ids(load_messages("callsetup_callee_unknown"))

    assert replay.states == [(call_id, RINGING), (call_id, ERROR)]


def test_a_call_setup_the_tracker_was_not_told_about_is_still_in_call_only_when_the_callee_answers():
    messages = load_messages("callsetup_answered_then_hangup")
    replay = new_replay()
    replay.feed(messages)
    call = replay.ended[0]

    assert (call.source, call.destination) == ("101", "102")
    answered_by = messages[int(call.answer_time) - 1]
    assert answered_by.get("channel").startswith("PJSIP/102-")


def test_three_call_setups_at_once_are_three_distinct_calls_each_ringing_in_call_completed():
    setups = [("101", "102"), ("102", "103"), ("103", "101")]
    replay = replay_fixture("three_calls_at_once", setups)
    ids = call_setup_ids(load_messages("three_calls_at_once"))

    assert len(set(ids)) == 3
    for call_id, (caller, callee) in zip(ids, setups):
        assert [state for cid, state in replay.states if cid == call_id] == [RINGING, IN_CALL, COMPLETED]
        call = replay.ended_call(call_id)
        assert (call.source, call.destination) == (caller, callee)
    # all three were talking at the same time before the hangup
    last_answer = max(call.answer_time for call in replay.ended)
    first_end = min(call.end_time for call in replay.ended)
    assert last_answer < first_end
    assert replay.tracker.calls == {}


# --- a phone calls a phone --------------------------------------------------------------------
def test_a_phone_calling_a_phone_rings_then_is_in_call_then_completes_when_the_caller_hangs_up():
    messages = load_messages("phone_calls_phone")
    replay = replay_fixture("phone_calls_phone")
    linkedid = next(m["linkedid"] for m in messages if m.get("event") == "Newchannel")
    call_id = call_id_for_linkedid(linkedid)

    assert replay.states == [(call_id, RINGING), (call_id, IN_CALL), (call_id, COMPLETED)]
    call = replay.ended_call(call_id)
    assert (call.source, call.destination, call.caller_id) == ("101", "102", "Phone 101")
    assert not call.from_call_setup
    assert call.start_time < call.answer_time < call.end_time


# --- reconnect ------------------------------------------------------------------------------
def _until_in_call(replay: Replay) -> bool:
    return any(state is IN_CALL for _, state, _ in replay.changes)


def test_a_call_in_progress_keeps_its_id_and_start_time_when_a_new_tracker_rebuilds_it():
    first = replay_fixture("callsetup_answered_then_hangup", [("101", "102")], until=_until_in_call)
    [call_id] = call_setup_ids(load_messages("callsetup_answered_then_hangup"))
    assert first.tracker.get(call_id).state is IN_CALL

    second = new_replay(now=1000.0)  # the bridge restarted
    second.tracker.rebuild(core_show_channels(first.tracker), second.tracker.known_channels())

    call = second.tracker.get(call_id)
    assert call is not None
    assert call.linkedid == f"astb-{call_id}"
    assert call.start_time == 1000.0 - 5
    assert call.state is IN_CALL
    assert call.source == "101"
    assert set(call.channels) == set(first.tracker.get(call_id).channels)
    assert second.ended == []


def test_rebuild_from_an_empty_list_ends_the_known_calls_but_keeps_a_channel_that_came_later():
    replay = replay_fixture("callsetup_answered_then_hangup", [("101", "102")], until=_until_in_call)
    [call_id] = call_setup_ids(load_messages("callsetup_answered_then_hangup"))
    known = replay.tracker.known_channels()
    # while CoreShowChannels is on its way, a phone starts a new call
    later = next(m for m in load_messages("phone_calls_phone") if m.get("event") == "Newchannel")
    replay.feed([later])

    replay.tracker.rebuild([], known)

    ended = replay.ended_call(call_id)
    assert ended.state is COMPLETED
    assert replay.states[-1] == (call_id, COMPLETED)
    assert replay.tracker.get(call_id) is None
    kept = replay.tracker.get(call_id_for_linkedid(later["linkedid"]))
    assert kept is not None and kept.state is RINGING
    assert list(replay.tracker.calls) == [later["linkedid"]]


# --- throughput -------------------------------------------------------------------------------
SETUPS = {
    "callsetup_answered_then_hangup": [("101", "102")],
    "callsetup_callee_busy": [("101", "105")],
    "callsetup_caller_busy": [("105", "101")],
    "callsetup_callee_no_answer": [("101", "104")],
    "callsetup_callee_unknown": [("101", "999")],
    "phone_calls_phone": [],
    "three_calls_at_once": [("101", "102"), ("102", "103"), ("103", "101")],
}


def test_every_fixture_is_covered_by_the_throughput_run():
    assert {path.stem for path in FIXTURES.glob("*.ami")} == set(SETUPS)


def test_the_tracker_handles_well_over_20000_events_a_second(capsys):
    streams = []
    for name, setups in SETUPS.items():
        messages = load_messages(name)
        streams.append((messages, list(zip(call_setup_ids(messages), setups))))
    fed = consumed = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < 0.5:
        for messages, expected in streams:
            tracker = CallTracker(clock=lambda: 0.0)
            for call_id, (caller, callee) in expected:
                tracker.expect_call_setup(call_id, caller, callee)
            handle = tracker.handle
            for message in messages:
                handle(message)
            fed += len(messages)
            consumed += tracker.events_seen
            assert tracker.calls == {}
    rate = fed / elapsed
    with capsys.disabled():
        print(f"\ncall tracker: {rate:,.0f} AMI messages/s ({consumed / elapsed:,.0f} of them "
              f"tracked events/s), {fed:,} messages in {elapsed:.2f} s")
    assert rate > 20_000
