"""The durable outbox: every notification is stored before it is sent.

Each receiving URL has one worker that delivers its rows strictly in the order
they were stored (so a receiver sees a call's changes in order), retries with
capped exponential backoff until delivered or expired, and picks up where it
left off after a restart. Every request carries `X-Notification-Id` (the same on
every retry, for idempotency) and, when a secret is set,
`X-Ast-Bridge-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping
from urllib.parse import urlencode

import aiohttp

from ast_bridge import __version__
from ast_bridge.storage import Store

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Outbox:
    def __init__(self, store: Store, *, timeout: float = 5.0, expiry: float = 86400.0,
                 first_backoff: float = 0.5, max_backoff: float = 60.0, secret: str | None = None) -> None:
        self._store = store
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._expiry = expiry
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._secret = secret.encode() if secret else None
        self._session: aiohttp.ClientSession | None = None
        self._workers: dict[str, asyncio.Task] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self.delivered = 0
        self.expired = 0
        self._closing = False

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout,
            headers={"User-Agent": f"ast_bridge/{__version__}", "Cache-Control": "no-store,no-cache",
                     "Pragma": "no-cache"},
        )
        for row in await self._store.fetchall("SELECT DISTINCT url FROM outbox"):
            self._kick(row["url"])

    async def close(self) -> None:
        self._closing = True
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # --- enqueueing ----------------------------------------------------------------------
    def submit(self, url: str, fields: Mapping[str, str], *, call_id: str = "", as_json: bool = False) -> str:
        """Store one notification for `url`; returns its id. Delivery starts once stored."""
        notification_id = uuid.uuid4().hex
        body = json.dumps(dict(fields), ensure_ascii=False) if as_json else urlencode(dict(fields))
        now = time.time()
        self._store.write(
            "INSERT INTO outbox (notification_id, url, body, content_type, name, call_id, created, next_attempt)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (notification_id, url, body, JSON if as_json else FORM, fields.get("NotificationName", ""),
             call_id or fields.get("CallId", ""), now, now),
            then=lambda: self._kick(url),
        )
        return notification_id

    def _kick(self, url: str) -> None:
        if self._closing:
            return
        self._wake.setdefault(url, asyncio.Event()).set()
        if url not in self._workers or self._workers[url].done():
            self._workers[url] = asyncio.create_task(self._worker(url), name=f"outbox {url.split('?')[0]}")

    # --- status --------------------------------------------------------------------------
    async def depth(self) -> tuple[int, float | None]:
        """(undelivered notifications, age in seconds of the oldest)."""
        await self._store.flush()  # a row counted as delivered or expired is gone from the count too
        rows = await self._store.fetchall("SELECT COUNT(*) AS n, MIN(created) AS oldest FROM outbox")
        count, oldest = rows[0]["n"], rows[0]["oldest"]
        return count, (round(time.time() - oldest, 3) if oldest is not None else None)

    # --- delivery --------------------------------------------------------------------------
    async def _worker(self, url: str) -> None:
        """Deliver this URL's rows in id order, a batch per query: a delivered row's
        DELETE is queued without waiting, and the next query comes after a flush,
        so a row is never sent twice by one process (after a crash it may be: the
        receiver has X-Notification-Id to tell)."""
        wake = self._wake.setdefault(url, asyncio.Event())
        while True:
            wake.clear()
            await self._store.flush(urgent=False)
            rows = await self._store.fetchall(
                "SELECT * FROM outbox WHERE url = ? ORDER BY id LIMIT 200", (url,))
            if not rows:
                await wake.wait()
                continue
            for row in rows:
                now = time.time()
                if row["created"] + self._expiry < now:
                    log.error("notification %s (%s) to %s expired after %d attempt(s): %s",
                              row["notification_id"], row["name"], _safe(url), row["attempts"], row["last_error"])
                    self.expired += 1
                    self._store.write("DELETE FROM outbox WHERE id = ?", (row["id"],))
                    continue
                if row["next_attempt"] > now:
                    try:
                        await asyncio.wait_for(wake.wait(), row["next_attempt"] - now)
                    except TimeoutError:
                        pass
                    break  # look again: the head of the queue decides
                error = await self._post(url, row)
                if error is None:
                    self.delivered += 1
                    self._store.write("DELETE FROM outbox WHERE id = ?", (row["id"],))
                    continue
                attempts = row["attempts"] + 1
                delay = min(self._first_backoff * 2 ** (attempts - 1), self._max_backoff)
                log.warning("notification %s (%s) to %s failed (attempt %d, next in %.1f s): %s",
                            row["notification_id"], row["name"], _safe(url), attempts, delay, error)
                await self._update_failure(row["id"], attempts, time.time() + delay, error)
                break  # strictly in order: nothing behind it goes before it

    async def _post(self, url: str, row) -> str | None:
        assert self._session is not None
        body = row["body"].encode()
        headers = {"Content-Type": row["content_type"], "X-Notification-Id": row["notification_id"]}
        if self._secret is not None:
            headers["X-Ast-Bridge-Signature"] = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                return None if response.status < 300 else f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}".rstrip(": ")

    async def _update_failure(self, row_id: int, attempts: int, next_attempt: float, error: str) -> None:
        await self._store.execute("UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?",
                                  (attempts, next_attempt, error[:500], row_id))


def _safe(url: str) -> str:
    """The URL without its query string, which may hold the client's secrets."""
    return url.split("?", 1)[0]
