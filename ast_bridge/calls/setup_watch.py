"""Follows each CallSetup until it is connected or has failed, and reports failures
to the client's `ErrorUrl`.

Two AMI sources tell how a CallSetup went:
* the dialplan's `UserEvent: AstBridgeLeg` (asterisk-conf/extensions_ast_bridge.conf),
  sent by each leg when it ends, with Dial's status (BUSY, NOANSWER, NOTFOUND...);
* `OriginateResponse` (same ActionID as our Originate): `Failure` when the caller
  leg could not be brought up at all.
When the caller fails, both arrive; the UserEvent says more, so an
OriginateResponse failure is reported only if no UserEvent followed shortly.
Each CallSetup is reported at most once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from ast_bridge.asterisk.actions import call_id_from_action_id
from ast_bridge.asterisk.message import AmiMessage as Message
from ast_bridge.calls.model import (
    ANSWERED_DIAL_STATUSES,
    ENDED_STATE_BY_DIAL_STATUS,
    CallState,
)
from ast_bridge.notify.outbox import Outbox

log = logging.getLogger(__name__)

# Asterisk's DIALSTATUS (and our own NOTFOUND) -> the ErrorUrl's Reason; the call
# state comes from the table the call table uses (calls/model.py)
DIAL_STATUS_REASONS: dict[str, str] = {
    "BUSY": "Busy",
    "NOANSWER": "NotAnswered",
    "NOTFOUND": "NotFound",
    "CANCEL": "Cancelled",
    "CONGESTION": "Congestion",
    "CHANUNAVAIL": "Unavailable",
    "DONTCALL": "Rejected",
    "TORTURE": "Rejected",
    "INVALIDARGS": "Error",
}
# OriginateResponse Reason codes (Asterisk's AST_CONTROL_* numbers)
ORIGINATE_REASONS: dict[str, tuple[str, str]] = {
    "1": ("Error", "Error"),
    "3": ("Busy", "NotAnswered"),
    "5": ("Busy", "Busy"),
    "8": ("Error", "Congestion"),
}
ORIGINATE_GRACE = 0.5


@dataclass
class PendingSetup:
    call_id: str
    caller: str
    callee: str
    error_url: str | None
    started: float


class CallSetupWatch:
    def __init__(self, sender: Outbox, max_age: float = 900.0) -> None:
        self._sender = sender
        self._pending: dict[str, PendingSetup] = {}
        self._max_age = max_age

    def register(self, call_id: str, caller: str, callee: str, error_url: str | None) -> None:
        self._expire()
        self._pending[call_id] = PendingSetup(call_id, caller, callee, error_url, time.monotonic())

    def forget(self, call_id: str) -> None:
        self._pending.pop(call_id, None)

    def __len__(self) -> int:
        return len(self._pending)

    # --- AMI events ------------------------------------------------------------------
    def on_user_event(self, event: Message) -> None:
        if event.get("userevent") != "AstBridgeLeg":
            return
        call_id = event.get("callid", "")
        setup = self._pending.get(call_id)
        if setup is None:
            return
        status = (event.get("dialstatus") or "").upper()
        party = event.get("party", "")
        if status in ANSWERED_DIAL_STATUSES:
            if party == "callee":
                self._pending.pop(call_id, None)  # both legs are up: nothing left to report
            return
        state = ENDED_STATE_BY_DIAL_STATUS.get(status, CallState.ERROR).value
        reason = DIAL_STATUS_REASONS.get(status, "Error")
        self._report(setup, party, event.get("number", ""), state, reason, status,
                     event.get("hangupcause", ""))

    def on_originate_response(self, event: Message) -> None:
        call_id = call_id_from_action_id(event.get("actionid", ""))
        if call_id is None or call_id not in self._pending:
            return
        if (event.get("response") or "").lower() == "success":
            return
        state, reason = ORIGINATE_REASONS.get(event.get("reason", ""), ("Error", "Rejected"))
        asyncio.get_running_loop().call_later(ORIGINATE_GRACE, self._report_originate_failure,
                                              call_id, state, reason, event.get("reason", ""))

    def _report_originate_failure(self, call_id: str, state: str, reason: str, code: str) -> None:
        setup = self._pending.get(call_id)
        if setup is not None:
            self._report(setup, "caller", setup.caller, state, reason, f"ORIGINATE_REASON_{code or 0}", "")

    # --- reporting ---------------------------------------------------------------------
    def _report(self, setup: PendingSetup, party: str, number: str, state: str, reason: str,
                dial_status: str, cause: str) -> None:
        self._pending.pop(setup.call_id, None)
        log.info("CallSetup %s %s->%s failed: %s leg %s (%s)", setup.call_id, setup.caller, setup.callee,
                 party, reason, dial_status)
        if not setup.error_url:
            return
        self._sender.submit(setup.error_url, error_notification(setup, party, number, state, reason,
                                                                dial_status, cause))

    def _expire(self) -> None:
        """Forget CallSetups nobody reported on; the dict is in creation order, so only
        its head needs looking at."""
        limit = time.monotonic() - self._max_age
        while self._pending:
            call_id, setup = next(iter(self._pending.items()))
            if setup.started >= limit:
                return
            del self._pending[call_id]


def error_notification(setup: PendingSetup, party: str, number: str, state: str, reason: str,
                       dial_status: str, cause: str) -> dict[str, str]:
    """The form fields POSTed to ErrorUrl (documented in docs/notifications.md)."""
    return {
        "NotificationName": "Error",
        "CallId": setup.call_id,
        "Caller": setup.caller,
        "Callee": setup.callee,
        "CallState": state,
        "Reason": reason,
        "FailedParty": party,
        "FailedNumber": number,
        "DialStatus": dial_status,
        "HangupCause": cause,
        "Time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }
