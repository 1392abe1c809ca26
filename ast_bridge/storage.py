"""The embedded database: one SQLite file for what must survive a restart
(the notification outbox and the call history).

Writes come from synchronous event handlers (the call table), so they are
queued and applied by one writer task, in order, in small transactions; a
caller that needs its write on disk before going on awaits `execute()` or
`flush()`. Reads go through aiosqlite. Writes do not: aiosqlite hops to its
thread once per statement, which under load (a dozen writes per call) cost more
than the rest of a CallSetup; the writer applies a whole batch in one hop, on
its own connection, in its own thread (WAL lets the reader see each commit).

Commits are grouped: after one, the writer lets `commit_interval` pass before
taking the next batch. Each commit writes every page it touched to the WAL; with
a commit per handful of rows that was ~50 KB of disk writes per call (measured),
and one thread hop per handful of rows. An idle store commits a lone write at once,
and a reader that waits on `flush()` for a client ends the pause early.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    content_type TEXT NOT NULL,
    name TEXT NOT NULL,
    call_id TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_url ON outbox (url, id);

CREATE TABLE IF NOT EXISTS call_history (
    call_id TEXT PRIMARY KEY,
    start_time REAL NOT NULL,
    answer_time REAL,
    end_time REAL NOT NULL,
    direction TEXT NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    dialed TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    state TEXT NOT NULL,
    type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_history_by_start ON call_history (start_time);

CREATE TABLE IF NOT EXISTS live_calls (
    linkedid TEXT PRIMARY KEY,
    call_id TEXT NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    start_time REAL NOT NULL,
    answer_time REAL,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
"""

Write = tuple[str, Sequence[Any], Callable[[], None] | None]


class Store:
    def __init__(self, path: str | Path, commit_interval: float = 0.005) -> None:
        self.path = Path(path)
        self._commit_interval = commit_interval
        self._urgent = asyncio.Event()  # someone waits for the next commit
        self.db: aiosqlite.Connection | None = None
        self._writes: asyncio.Queue[Write | None] = asyncio.Queue()
        self._writer: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._write_db: sqlite3.Connection | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open_writer)
        self.db = await aiosqlite.connect(self.path)
        self.db.row_factory = aiosqlite.Row
        self._writer = asyncio.create_task(self._write_loop(), name="store-writer")

    def _open_writer(self) -> None:
        db = sqlite3.connect(self.path, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        db.commit()
        self._write_db = db

    def _apply(self, batch: list[Write]) -> None:
        assert self._write_db is not None
        try:
            for sql, params, _ in batch:
                if sql:  # "" is flush()'s barrier
                    self._write_db.execute(sql, params)
            self._write_db.commit()
        except Exception:
            self._write_db.rollback()
            raise

    async def close(self) -> None:
        if self._writer is not None:
            await self.flush()
            self._writes.put_nowait(None)
            await self._writer
            self._writer = None
        if self.db is not None:
            await self.db.close()
            self.db = None
        if self._executor is not None:
            if self._write_db is not None:
                await asyncio.get_running_loop().run_in_executor(self._executor, self._write_db.close)
                self._write_db = None
            self._executor.shutdown(wait=True)
            self._executor = None

    def write(self, sql: str, params: Sequence[Any] = (), then: Callable[[], None] | None = None) -> None:
        """Queue a write; `then()` runs once it is committed."""
        self._writes.put_nowait((sql, params, then))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue a write behind the others and wait until it is committed."""
        await self._queue_committed(sql, params)

    async def flush(self, urgent: bool = True) -> None:
        """Wait until every write queued before this call is committed (a barrier:
        under a steady stream of writes the writer may never be idle). `urgent`
        (a client waits for the answer) cuts the writer's pause between commits short;
        background work passes False and keeps the commits grouped."""
        if self._writer is None:
            return
        committed = self._queue_committed("", ())
        if urgent:
            self._urgent.set()
        await committed

    def _queue_committed(self, sql: str, params: Sequence[Any]) -> asyncio.Future:
        """Queue a write ("" is a barrier); the future is done once it is committed."""
        done = asyncio.get_running_loop().create_future()
        self.write(sql, params, then=lambda: done.done() or done.set_result(None))
        return done

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        assert self.db is not None
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._writes.get()
            if item is None:
                return
            batch = [item]
            while not self._writes.empty() and len(batch) < 2000:
                nxt = self._writes.get_nowait()
                if nxt is None:
                    self._writes.put_nowait(None)
                    break
                batch.append(nxt)
            try:
                await loop.run_in_executor(self._executor, self._apply, batch)
            except Exception:
                log.exception("database write failed (%d statement(s) lost)", len(batch))
            for _, _, then in batch:
                if then is not None:
                    try:
                        then()
                    except Exception:
                        log.exception("after-write callback failed")
            if self._commit_interval and not self._urgent.is_set():
                try:
                    await asyncio.wait_for(self._urgent.wait(), self._commit_interval)
                except TimeoutError:
                    pass
            self._urgent.clear()
