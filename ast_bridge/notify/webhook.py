"""Posting notifications to the client's URLs, form-encoded as Ozeki does.

This first version keeps its queue in memory and retries a few times with
exponential backoff; the durable SQLite outbox replaces it behind the same
`submit` call.
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
        self._tasks: set[asyncio.Task] = set()
        self.delivered = 0
        self.failed = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout,
            headers={"User-Agent": f"ast_bridge/{__version__}", "Cache-Control": "no-store,no-cache",
                     "Pragma": "no-cache"},
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(self, url: str, fields: Mapping[str, str]) -> str:
        """Queue one notification; returns its id (sent as `X-Notification-Id`)."""
        notification_id = uuid.uuid4().hex
        task = asyncio.create_task(self._deliver(url, dict(fields), notification_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return notification_id

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
