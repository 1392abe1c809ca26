"""The call model: Asterisk channels grouped into Ozeki calls by Linkedid."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum

from ast_bridge.calls.ids import ALPHABET


class CallState(str, Enum):
    """Ozeki's call states (reference §4.1), spelled as Ozeki spells them."""

    RINGING = "Ringing"
    IN_CALL = "InCall"
    HOLD = "Hold"
    COMPLETED = "Completed"
    BUSY = "Busy"
    CANCELLED = "Cancelled"
    TRANSFERRED = "Transferred"
    ERROR = "Error"

    @property
    def ended(self) -> bool:
        return self in ENDED_STATES


ENDED_STATES = {CallState.COMPLETED, CallState.BUSY, CallState.CANCELLED, CallState.TRANSFERRED,
                CallState.ERROR}

# How a leg's Dial ended: Asterisk's DIALSTATUS, plus the dialplan's own ROUTED and
# NOTFOUND (asterisk-conf/extensions_ast_bridge.conf). Shared by the call table and
# the CallSetup follow-up, so both say the same of one call.
ANSWERED_DIAL_STATUSES = frozenset({"ANSWER", "ROUTED"})
ENDED_STATE_BY_DIAL_STATUS: dict[str, CallState] = {
    "BUSY": CallState.BUSY,
    "NOANSWER": CallState.BUSY,  # Ozeki: Busy also means "rang past the configured time"
    "CANCEL": CallState.CANCELLED,
    "CONGESTION": CallState.ERROR,
    "CHANUNAVAIL": CallState.ERROR,
    "NOTFOUND": CallState.ERROR,
    "DONTCALL": CallState.ERROR,
    "TORTURE": CallState.ERROR,
    "INVALIDARGS": CallState.ERROR,
}

# Asterisk channel states (ChannelState) that matter here
DOWN, RSRVD, OFFHOOK, DIALING, RING, RINGING, UP = "0", "1", "2", "3", "4", "5", "6"


@dataclass
class ChannelInfo:
    uniqueid: str
    name: str
    linkedid: str
    state: str = DOWN
    caller_num: str = ""
    caller_name: str = ""
    exten: str = ""
    bridge: str | None = None
    on_hold: bool = False

    @property
    def is_local(self) -> bool:
        return self.name.startswith("Local/")


@dataclass
class Call:
    """One Ozeki call: every channel that shares a Linkedid."""

    call_id: str
    linkedid: str
    source: str = ""
    destination: str = ""
    caller_id: str = ""
    start_time: float = 0.0  # epoch seconds
    answer_time: float | None = None
    end_time: float | None = None
    state: CallState = CallState.RINGING
    last_dial_status: str = ""
    channels: dict[str, ChannelInfo] = field(default_factory=dict)
    from_call_setup: bool = False
    announced: bool = False  # its first state was reported
    first_hangup: str = ""  # "caller" or "callee": who left an answered call first
    result: str = ""  # history result state (reference §4.3), set when the call ends
    dialer: str = ""  # Uniqueid of the channel that placed the latest Dial (ForwardCall moves it)

    def ring_duration(self, now: float) -> float:
        until = self.answer_time or self.end_time or now
        return max(0.0, until - self.start_time)

    def talk_duration(self, now: float) -> float:
        if self.answer_time is None:
            return 0.0
        return max(0.0, (self.end_time or now) - self.answer_time)


def call_id_for_linkedid(linkedid: str) -> str:
    """A stable CallId for calls the bridge did not start: the same Linkedid gives the
    same CallId after a bridge restart."""
    number = int.from_bytes(hashlib.sha256(linkedid.encode()).digest()[:8], "big")
    out = []
    for _ in range(8):
        number, digit = divmod(number, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)
