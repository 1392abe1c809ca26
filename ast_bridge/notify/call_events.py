"""CallChanged notifications: every call state change, POSTed to `notify_urls`."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from ast_bridge.calls.model import Call, CallState
from ast_bridge.notify.outbox import Outbox
from ast_bridge.ozeki_time import o10_duration, o10_time


def call_changed_fields(call: Call, now: float) -> dict[str, str]:
    """The form fields of a CallChanged notification (docs/notifications.md)."""
    return {
        "NotificationName": "CallChanged",
        "CallId": call.call_id,
        "CallState": call.state.value,
        "Caller": call.source,
        "Callee": call.destination,
        "CallerId": call.caller_id,
        "StartTime": o10_time(call.start_time),
        "RingDuration": o10_duration(call.ring_duration(now)),
        "TalkDuration": o10_duration(call.talk_duration(now)),
        "Time": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds"),
    }


class CallEventNotifier:
    def __init__(self, outbox: Outbox, form_urls: list[str], json_urls: list[str]) -> None:
        self._outbox = outbox
        self._subscribers = [(url, False) for url in form_urls] + [(url, True) for url in json_urls]

    def call_changed(self, call: Call, old: CallState | None) -> None:
        if not self._subscribers:
            return
        fields = call_changed_fields(call, time.time())
        for url, as_json in self._subscribers:
            self._outbox.submit(url, fields, call_id=call.call_id, as_json=as_json)
