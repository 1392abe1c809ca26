"""The live call table, a pure state machine fed by AMI events in arrival order.

Channels are grouped into Ozeki calls by Linkedid. A CallSetup's channels carry
the Linkedid `astb-<CallId>` (the Originate sets `ChannelId`), so its CallId is
known from the very first event and survives a bridge restart; any other call
gets a CallId derived from its Linkedid, equally stable.

The tracker does no I/O: `on_change(call, old_state)` is called for every state
change and `on_end(call)` when a call is over; the owner turns those into
notifications and history rows. On every (re)connect `rebuild()` diffs the
table against `CoreShowChannels`: calls still up keep their identity and start
time, vanished calls end (and are notified), nothing is flushed blindly.

Rate: replaying the recorded lab streams (tests/fixtures/ami) on the 2-core lab
machine, `handle()` takes about 500,000 tracked events/s (750,000 AMI messages/s
including the ones it ignores); with the parsing of the raw stream in front
(asterisk/message.py), about 115,000 messages/s. A CallSetup between two phones
brings about 40 events through manager.conf's eventfilter, so the table keeps up
with some 2,500 call set-ups per second, more than Asterisk completes on this
machine (see tests/unit/test_tracker_replay.py and docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

from ast_bridge.asterisk.actions import CALL_SETUP_CHANNEL_PREFIX, PLAY_CHANNEL
from ast_bridge.asterisk.message import AmiMessage as Message
from ast_bridge.calls.model import (
    ANSWERED_DIAL_STATUSES,
    DIALING,
    DOWN,
    ENDED_STATE_BY_DIAL_STATUS,
    RINGING,
    UP,
    Call,
    CallState,
    ChannelInfo,
    call_id_for_linkedid,
)

log = logging.getLogger(__name__)

UNKNOWN = "<unknown>"
# not calls of anybody's: the channel Asterisk creates to run the `failed` extension of
# a failed Originate, and the helper channels of Play/Speak
IGNORED_CHANNELS = ("OutgoingSpoolFailed", PLAY_CHANNEL)
# history result states (reference §4.3, the SDK's spellings) of unanswered calls
RESULT_BY_DIAL_STATUS = {"BUSY": "Busy", "NOANSWER": "NotAnswered", "CANCEL": "Cancelled",
                         "CONGESTION": "Error", "CHANUNAVAIL": "NotFound", "NOTFOUND": "NotFound"}
# the events the tracker consumes (see asterisk-conf/manager.conf's eventfilter)
EVENTS = ("Newchannel", "Newstate", "NewCallerid", "DialBegin", "DialEnd", "BridgeEnter",
          "BridgeLeave", "Hangup", "MusicOnHoldStart", "MusicOnHoldStop", "UserEvent")


def _value(event: Message, key: str) -> str:
    value = event.get(key) or ""
    return "" if value == UNKNOWN else value


class CallTracker:
    def __init__(self, on_change: Callable[[Call, CallState | None], None] | None = None,
                 on_end: Callable[[Call], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.calls: dict[str, Call] = {}  # by Linkedid
        self._by_id: dict[str, Call] = {}  # by CallId
        self._channels: dict[str, Call] = {}  # Uniqueid -> call
        self._on_change = on_change or (lambda call, old: None)
        self._on_end = on_end or (lambda call: None)
        self._clock = clock
        self._expected: dict[str, tuple[str, str]] = {}  # CallId -> (caller, callee)
        self._recently_hung_up: dict[str, None] = {}  # ordered set, bounded
        self.events_seen = 0
        self._handlers = {
            "newchannel": self._newchannel, "newstate": self._newstate, "newcallerid": self._newcallerid,
            "dialbegin": self._dialbegin, "dialend": self._dialend, "bridgeenter": self._bridgeenter,
            "bridgeleave": self._bridgeleave, "hangup": self._hangup,
            "musiconholdstart": self._moh_start, "musiconholdstop": self._moh_stop,
            "userevent": self._user_event,
        }
        self._remembered: dict[str, Call] = {}  # by Linkedid: calls from before a restart
        self._rebuilding = False

    # --- queries -----------------------------------------------------------------------
    def get(self, call_id: str) -> Call | None:
        return self._by_id.get(call_id)

    def active(self) -> list[Call]:
        return sorted(self.calls.values(), key=lambda c: c.start_time)

    def expect_call_setup(self, call_id: str, caller: str, callee: str) -> None:
        """A CallSetup is on its way: its Source/Destination are the client's numbers."""
        self._expected[call_id] = (caller, callee)
        if len(self._expected) > 10_000:
            self._expected.pop(next(iter(self._expected)))

    # --- events ------------------------------------------------------------------------
    def handle(self, event: Message) -> None:
        handler = self._handlers.get((event.get("event") or "").lower())
        if handler is not None:
            self.events_seen += 1
            handler(event)

    def _call_for(self, event: Message) -> tuple[Call, ChannelInfo] | None:
        call = self._channels.get(event.get("uniqueid", ""))
        if call is None:
            return None
        return call, call.channels[event["uniqueid"]]

    def _newchannel(self, event: Message, started: float | None = None) -> None:
        uniqueid, linkedid = event.get("uniqueid", ""), event.get("linkedid") or event.get("uniqueid", "")
        if not uniqueid or uniqueid in self._channels or event.get("channel", "").startswith(IGNORED_CHANNELS):
            return
        channel = ChannelInfo(uniqueid=uniqueid, name=event.get("channel", ""), linkedid=linkedid,
                              state=event.get("channelstate", DOWN), caller_num=_value(event, "calleridnum"),
                              caller_name=_value(event, "calleridname"), exten=_value(event, "exten"))
        call = self.calls.get(linkedid)
        if call is None:
            call = self._new_call(linkedid, channel, started)
        call.channels[uniqueid] = channel
        self._channels[uniqueid] = call
        self._update(call)

    def _new_call(self, linkedid: str, first: ChannelInfo, started: float | None) -> Call:
        remembered = self._remembered.pop(linkedid, None)
        if remembered is not None:
            # known before a restart: same CallId, numbers, start and answer time
            remembered.channels = {}
            self.calls[linkedid] = remembered
            self._by_id[remembered.call_id] = remembered
            return remembered
        from_setup = linkedid.startswith(CALL_SETUP_CHANNEL_PREFIX)
        call_id = linkedid[len(CALL_SETUP_CHANNEL_PREFIX):] if from_setup else call_id_for_linkedid(linkedid)
        call = Call(call_id=call_id, linkedid=linkedid, start_time=started or self._clock(),
                    from_call_setup=from_setup)
        if from_setup and call_id in self._expected:
            call.source, call.destination = self._expected.pop(call_id)
            call.caller_id = call.source
        elif from_setup:
            # after a bridge restart: the caller is in the Local channel's name
            match = re.match(r"Local/([^@]+)@", first.name)
            call.source = call.caller_id = match.group(1) if match else ""
            # the Originate's first channel: its Exten, once in the callee context, is the callee
            if first.uniqueid == linkedid and first.exten and not first.name.startswith(f"Local/{first.exten}@"):
                call.destination = first.exten
        else:
            call.source = first.caller_num
            call.caller_id = first.caller_name or first.caller_num
            call.destination = first.exten if first.exten not in ("", "s") else ""
        self.calls[linkedid] = call
        self._by_id[call_id] = call
        return call

    def _newstate(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            call, channel = found
            channel.state = event.get("channelstate", channel.state)
            self._update(call)

    def _newcallerid(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            call, channel = found
            channel.caller_num = _value(event, "calleridnum")
            channel.caller_name = _value(event, "calleridname")
            first = next(iter(call.channels.values()))
            if channel is first and not call.from_call_setup:
                call.source = channel.caller_num or call.source
                call.caller_id = channel.caller_name or channel.caller_num or call.caller_id
            elif call.from_call_setup and not call.destination and channel.uniqueid == call.linkedid:
                # the Originate shows the callee's number to the caller: it is the callee
                call.destination = channel.caller_num

    def _dialbegin(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            call, channel = found
            call.dialer = channel.uniqueid
            # a CallSetup's caller leg dials the caller: only its first channel dials the callee
            if not call.destination and (not call.from_call_setup or channel.uniqueid == call.linkedid):
                call.destination = _value(event, "destexten") or _value(event, "dialstring")

    def _dialend(self, event: Message) -> None:
        found = self._call_for(event) or self._call_for_dest(event)
        if found:
            status = (event.get("dialstatus") or "").upper()
            if status and status != "ANSWER":
                found[0].last_dial_status = status

    def _call_for_dest(self, event: Message) -> tuple[Call, ChannelInfo] | None:
        uniqueid = event.get("destuniqueid", "")
        call = self._channels.get(uniqueid)
        return (call, call.channels[uniqueid]) if call else None

    def _bridgeenter(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            found[1].bridge = event.get("bridgeuniqueid")
            self._update(found[0])

    def _bridgeleave(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            found[1].bridge = None

    def _user_event(self, event: Message) -> None:
        """The dialplan's per-leg report (extensions_ast_bridge.conf): the only place a
        number that does not exist (NOTFOUND) shows up."""
        if event.get("userevent") != "AstBridgeLeg":
            return
        found = self._call_for(event)
        status = (event.get("dialstatus") or "").upper()
        if found and status and status not in ANSWERED_DIAL_STATUSES:
            found[0].last_dial_status = status

    def _moh_start(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            found[1].on_hold = True
            self._update(found[0])

    def _moh_stop(self, event: Message) -> None:
        found = self._call_for(event)
        if found:
            found[1].on_hold = False
            self._update(found[0])

    def _hangup(self, event: Message) -> None:
        self._drop_channel(event.get("uniqueid", ""))

    def _drop_channel(self, uniqueid: str) -> None:
        call = self._channels.pop(uniqueid, None)
        if call is None:
            return
        channel = call.channels.get(uniqueid)
        if channel is not None and not channel.is_local and call.answer_time is not None and not call.first_hangup:
            call.first_hangup = "caller" if channel.caller_num and channel.caller_num == call.source else "callee"
        self._recently_hung_up[uniqueid] = None
        if len(self._recently_hung_up) > 4096:
            self._recently_hung_up.pop(next(iter(self._recently_hung_up)))
        call.channels.pop(uniqueid, None)
        if call.channels:
            self._update(call)
        else:
            self._end(call)

    # --- state -------------------------------------------------------------------------
    def _live_state(self, call: Call) -> CallState:
        channels = list(call.channels.values())
        phones_up = sum(1 for c in channels if c.state == UP and not c.is_local)
        if call.answer_time is not None:
            answered = True
        elif call.from_call_setup:
            # a CallSetup is answered when the callee side is up, not when the caller is
            answered = phones_up >= 2 or (bool(call.destination) and self._callee_answered_by_dialplan(call))
        else:
            up = sum(1 for c in channels if c.state == UP)
            pending = any(c.state in (DOWN, DIALING, RINGING) for c in channels)
            answered = (up >= 2 and not pending) or phones_up >= 2 or (len(channels) == 1 and phones_up == 1)
        if not answered:
            return CallState.RINGING
        if any(c.on_hold for c in channels):
            return CallState.HOLD
        return CallState.IN_CALL

    @staticmethod
    def _callee_answered_by_dialplan(call: Call) -> bool:
        """CallSetup to a number the dialplan answers itself (no phone): the
        originated Local channel is up with no channel still being set up."""
        first = call.channels.get(call.linkedid)
        if first is None or first.state != UP or first.exten != call.destination:
            return False
        return not any(c.state in (DOWN, DIALING, RINGING) for c in call.channels.values()) and \
            sum(1 for c in call.channels.values() if c.state == UP) >= 3 and \
            sum(1 for c in call.channels.values() if not c.is_local) <= 1 and first.bridge is None

    def _update(self, call: Call) -> None:
        if self._rebuilding:
            return
        new = self._live_state(call)
        if new in (CallState.IN_CALL, CallState.HOLD) and call.answer_time is None:
            call.answer_time = self._clock()
        if new is not call.state or not call.announced:
            old = call.state if call.announced else None
            call.state = new
            call.announced = True
            self._on_change(call, old)

    def _end(self, call: Call) -> None:
        """The last channel of the call is gone: how it ended follows from whether it
        was answered, and if not, from the last Dial status."""
        if call.answer_time is not None:
            self._close(call, CallState.COMPLETED,
                        "CallerHungUp" if call.first_hangup == "caller" else "CalleeHungUp")
        else:
            state = ENDED_STATE_BY_DIAL_STATUS.get(call.last_dial_status, CallState.CANCELLED)
            self._close(call, state, RESULT_BY_DIAL_STATUS.get(call.last_dial_status, state.value))

    def _close(self, call: Call, state: CallState, result: str) -> None:
        """Take an ended call out of the table and report it."""
        old = call.state
        call.end_time = self._clock()
        call.state, call.result = state, result
        self.calls.pop(call.linkedid, None)
        self._by_id.pop(call.call_id, None)
        self._on_change(call, old)
        self._on_end(call)

    # --- reconnect -------------------------------------------------------------------------
    def remember(self, calls: Iterable[Call]) -> None:
        """Calls that were up before the bridge restarted (from the database). The
        first `rebuild()` gives back those still up their identity and times, and
        ends (and reports) those Asterisk no longer has."""
        for call in calls:
            self._remembered[call.linkedid] = call
            if call.from_call_setup and not call.announced:
                self._expected.setdefault(call.call_id, (call.source, call.destination))

    def merge(self, absorbed: Call, into: Call) -> None:
        """An attended transfer joined a party of `absorbed` to `into`: its channels
        now belong to `into`, and `absorbed` ends as Transferred."""
        if absorbed is into or absorbed.linkedid not in self.calls:
            return
        for uniqueid, channel in absorbed.channels.items():
            into.channels[uniqueid] = channel
            self._channels[uniqueid] = into
        absorbed.channels = {}
        self._close(absorbed, CallState.TRANSFERRED, "TransferCompleted")
        self._update(into)

    def known_channels(self) -> set[str]:
        """Take before asking for `CoreShowChannels`; give to `rebuild`."""
        return set(self._channels)

    def rebuild(self, listed: Iterable[Message], known_before: set[str]) -> None:
        """Diff the table against `CoreShowChannel` events after a (re)connect.

        Events keep arriving while the list is fetched, so only channels known
        before the request can have vanished, and channels that hung up in the
        meantime are not brought back."""
        now = self._clock()
        seen: set[str] = set()
        touched: dict[str, Call] = {}
        self._rebuilding = True
        try:
            self._rebuild_channels(listed, now, seen, touched)
        finally:
            self._rebuilding = False
        for call in touched.values():
            if call.linkedid in self.calls:
                self._update(call)
        for uniqueid in [u for u in known_before if u not in seen and u in self._channels]:
            self._drop_channel(uniqueid)
        # calls from before a restart that Asterisk no longer has: they ended meanwhile
        for call in list(self._remembered.values()):
            if call.announced:
                self.calls[call.linkedid] = call
                self._by_id[call.call_id] = call
                self._end(call)
        self._remembered = {linkedid: call for linkedid, call in self._remembered.items() if not call.announced}

    def _rebuild_channels(self, listed: Iterable[Message], now: float, seen: set[str],
                          touched: dict[str, Call]) -> None:
        for item in listed:
            if (item.get("event") or "") != "CoreShowChannel":
                continue
            uniqueid = item.get("uniqueid", "")
            seen.add(uniqueid)
            if uniqueid in self._recently_hung_up:
                continue
            if uniqueid not in self._channels:
                started = now - _seconds(item.get("duration", ""))
                linkedid = item.get("linkedid") or uniqueid
                existing = self.calls.get(linkedid)
                if existing is not None:
                    started = min(started, existing.start_time)
                self._newchannel(item, started=started)
                call = self.calls.get(linkedid)
                if call is not None and call.start_time > started:
                    call.start_time = started
            found = self._call_for(item)
            if found:
                call, channel = found
                channel.state = item.get("channelstate", channel.state)
                channel.bridge = item.get("bridgeid") or None
                touched[call.linkedid] = call


def _seconds(duration: str) -> float:
    """`HH:MM:SS` (CoreShowChannel's Duration) to seconds."""
    try:
        parts = [int(p) for p in duration.split(":")]
    except ValueError:
        return 0.0
    total = 0
    for part in parts:
        total = total * 60 + part
    return float(total)
