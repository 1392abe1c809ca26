"""Posting notifications to the client's URLs, form-encoded as Ozeki does.

One queue and one worker per receiving URL, so a receiver gets its
notifications in the order they happened. This version keeps the queues in
memory and gives up after `attempts` tries; the durable SQLite outbox replaces
it behind the same `submit` call.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping

import aiohttp

from ast_bridge import __version__

log = logging.getLogger(__name__)


class WebhookSender:
    def __init__(self, timeout: float = 5.0, attempts: int = 5, first_backoff: float = 0.5) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._session: aiohttp.ClientSession | None = None
        self._queues: dict[str, asyncio.Queue] = {}
        self._workers: dict[str, asyncio.Task] = {}
        self.delivered = 0
        self.failed = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout,
            headers={"User-Agent": f"ast_bridge/{__version__}", "Cache-Control": "no-store,no-cache",
                     "Pragma": "no-cache"},
        )

    async def close(self) -> None:
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def pending(self) -> int:
        return sum(queue.qsize() for queue in self._queues.values())

    def submit(self, url: str, fields: Mapping[str, str]) -> str:
        """Queue one notification; returns its id (sent as `X-Notification-Id`)."""
        notification_id = uuid.uuid4().hex
        queue = self._queues.get(url)
        if queue is None:
            queue = self._queues[url] = asyncio.Queue()
            self._workers[url] = asyncio.create_task(self._worker(url, queue))
        queue.put_nowait((dict(fields), notification_id))
        return notification_id

    async def _worker(self, url: str, queue: asyncio.Queue) -> None:
        while True:
            fields, notification_id = await queue.get()
            try:
                await self._deliver(url, fields, notification_id)
            except Exception:
                log.exception("notification %s to %s failed", notification_id, _safe_url(url))

    async def _deliver(self, url: str, fields: dict[str, str], notification_id: str) -> None:
        assert self._session is not None
        delay = self._first_backoff
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._session.post(url, data=fields,
                                              headers={"X-Notification-Id": notification_id}) as response:
                    await response.read()
                    if response.status < 300:
                        self.delivered += 1
                        return
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            log.warning("notification %s %s to %s failed (attempt %d/%d): %s", notification_id,
                        fields.get("NotificationName"), _safe_url(url), attempt, self._attempts, problem)
            if attempt < self._attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.failed += 1


def _safe_url(url: str) -> str:
    """The URL without its query string, which may hold the client's secrets."""
    return url.split("?", 1)[0]
