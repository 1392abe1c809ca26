"""Ended calls, kept in SQLite for ListCallHistory / GetCallHistory (reference §5.6)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ast_bridge.calls.model import Call
from ast_bridge.storage import Store

FILTER_COLUMNS = {  # Ozeki filter parameter -> column (exact match)
    "Direction": "direction", "Source": "source", "Destination": "destination", "State": "state",
    "Dialed": "dialed", "CallerId": "caller_id", "CallId": "call_id", "Type": "type",
}
# accepted on input as well as the SDK spelling we store (reference §4.3)
STATE_ALIASES = {"CallerHangUp": "CallerHungUp", "CalleeHangUp": "CalleeHungUp"}


@dataclass(frozen=True)
class HistoryQuery:
    filters: dict[str, str]
    since: float | None = None
    general: str | None = None
    page: int = 0
    rows_per_page: int = 20


@dataclass(frozen=True)
class HistoryRow:
    call_id: str
    start_time: float
    direction: str
    source: str
    destination: str
    state: str
    dialed: str
    caller_id: str
    type: str
    ring_duration: float
    talk_duration: float


class CallHistory:
    def __init__(self, store: Store, retention_days: float) -> None:
        self._store = store
        self._retention = retention_days * 86400

    def record(self, call: Call) -> None:
        """Store an ended call (called from the call table; the write is queued)."""
        self._store.write(
            "INSERT OR REPLACE INTO call_history (call_id, start_time, answer_time, end_time, direction, source,"
            " destination, dialed, caller_id, state, type) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (call.call_id, call.start_time, call.answer_time, call.end_time or time.time(), "Internal",
             call.source, call.destination, call.destination, call.caller_id, call.result or call.state.value,
             "Audio"),
        )

    async def purge(self) -> None:
        await self._store.execute("DELETE FROM call_history WHERE end_time < ?", (time.time() - self._retention,))

    async def search(self, query: HistoryQuery) -> tuple[int, list[HistoryRow]]:
        """(total matches, the requested page), newest first. Calls that ended before
        the query are in it: the queued writes are committed first."""
        await self._store.flush()
        where, params = [], []
        for name, value in query.filters.items():
            where.append(f"{FILTER_COLUMNS[name]} = ?")
            params.append(STATE_ALIASES.get(value, value) if name == "State" else value)
        if query.since is not None:
            where.append("start_time >= ?")
            params.append(query.since)
        if query.general:
            like = "%" + query.general.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in
                                          ("call_id", "source", "destination", "dialed", "caller_id", "state")) + ")")
            params.extend([like] * 6)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = (await self._store.fetchall(f"SELECT COUNT(*) AS n FROM call_history{clause}", params))[0]["n"]
        rows = await self._store.fetchall(
            f"SELECT * FROM call_history{clause} ORDER BY start_time DESC, call_id LIMIT ? OFFSET ?",
            [*params, query.rows_per_page, query.page * query.rows_per_page])
        return total, [_row(r) for r in rows]


def _row(r) -> HistoryRow:
    answered = r["answer_time"]
    ring = (answered if answered is not None else r["end_time"]) - r["start_time"]
    talk = r["end_time"] - answered if answered is not None else 0.0
    return HistoryRow(r["call_id"], r["start_time"], r["direction"], r["source"], r["destination"], r["state"],
                      r["dialed"], r["caller_id"], r["type"], max(0.0, ring), max(0.0, talk))
