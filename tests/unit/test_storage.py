"""The embedded store: commits grouped in time, and a waiting client cuts the pause short."""

from __future__ import annotations

import time
from pathlib import Path

from ast_bridge.storage import Store


async def test_commits_are_grouped_and_an_urgent_flush_does_not_wait_for_the_pause(tmp_path: Path) -> None:
    store = Store(tmp_path / "bridge.db", commit_interval=0.5)
    await store.open()
    try:
        insert = ("INSERT INTO call_history (call_id, start_time, end_time, direction, source, destination,"
                  " dialed, caller_id, state, type) VALUES (?, 0, 1, 'Internal', '101', '102', '102', '101',"
                  " 'Completed', 'Voice')")
        store.write(insert, ("a1",))
        started = time.monotonic()
        await store.flush(urgent=False)  # an idle store commits at once ...
        assert time.monotonic() - started < 0.2
        # ... and then pauses: what comes in meanwhile waits for the next commit ...
        store.write(insert, ("a2",))
        started = time.monotonic()
        await store.flush(urgent=False)
        assert 0.3 < time.monotonic() - started < 1.0
        # ... unless a client waits for it
        store.write(insert, ("a3",))
        started = time.monotonic()
        await store.flush()
        assert time.monotonic() - started < 0.2
        rows = await store.fetchall("SELECT call_id FROM call_history ORDER BY call_id")
        assert [r["call_id"] for r in rows] == ["a1", "a2", "a3"]
    finally:
        await store.close()
