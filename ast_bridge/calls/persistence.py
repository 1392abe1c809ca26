"""The live call table, mirrored in SQLite so that a restarted bridge keeps each
call's identity, numbers and times (Asterisk's CoreShowChannels knows neither a
CallSetup's numbers nor when a call was answered)."""

from __future__ import annotations

import time

from ast_bridge.asterisk.actions import CALL_SETUP_CHANNEL_PREFIX
from ast_bridge.calls.model import Call, CallState
from ast_bridge.storage import Store

PENDING = "Pending"  # a CallSetup whose first channel has not shown up yet
_UPSERT = ("INSERT OR REPLACE INTO live_calls (linkedid, call_id, source, destination, caller_id, start_time,"
           " answer_time, state, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
STALE_AFTER = 86400.0


class LiveCallStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def expect_call_setup(self, call_id: str, caller: str, callee: str) -> None:
        now = time.time()
        self._store.write(_UPSERT, (CALL_SETUP_CHANNEL_PREFIX + call_id, call_id, caller, callee, caller, now,
                                    None, PENDING, now))

    def on_change(self, call: Call, old: CallState | None) -> None:
        if call.state.ended:
            self._store.write("DELETE FROM live_calls WHERE linkedid = ?", (call.linkedid,))
            return
        self._store.write(_UPSERT, (call.linkedid, call.call_id, call.source, call.destination, call.caller_id,
                                    call.start_time, call.answer_time, call.state.value, time.time()))

    async def load(self) -> list[Call]:
        """Calls that were up (or CallSetups on their way) when the bridge stopped."""
        await self._store.execute("DELETE FROM live_calls WHERE updated < ?", (time.time() - STALE_AFTER,))
        calls = []
        for row in await self._store.fetchall("SELECT * FROM live_calls ORDER BY start_time"):
            pending = row["state"] == PENDING
            calls.append(Call(
                call_id=row["call_id"], linkedid=row["linkedid"], source=row["source"],
                destination=row["destination"], caller_id=row["caller_id"], start_time=row["start_time"],
                answer_time=row["answer_time"], state=CallState.RINGING if pending else CallState(row["state"]),
                from_call_setup=row["linkedid"].startswith(CALL_SETUP_CHANNEL_PREFIX), announced=not pending,
            ))
        return calls
