"""The durable outbox against a real local HTTP receiver (no Asterisk involved)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from pathlib import Path

import pytest
from aiohttp import web

from ast_bridge.notify.outbox import Outbox
from ast_bridge.storage import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, port: int, status: int = 200) -> None:
        self.port, self.status = port, status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        async def handle(request: web.Request) -> web.Response:
            self.requests.append((dict(request.headers), await request.read()))
            return web.Response(status=self.status)
        app = web.Application()
        app.router.add_post("/hook", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def forms(self) -> list[dict[str, str]]:
        from urllib.parse import parse_qsl
        return [dict(parse_qsl(body.decode())) for _, body in self.requests]


async def wait_until(check, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture
async def opened(tmp_path: Path):
    stores: list[Store] = []
    boxes: list[Outbox] = []

    async def make(**kwargs) -> tuple[Store, Outbox]:
        store = Store(tmp_path / "outbox.db")
        await store.open()
        box = Outbox(store, first_backoff=0.05, max_backoff=0.2, timeout=1.0, **kwargs)
        await box.start()
        stores.append(store)
        boxes.append(box)
        return store, box

    yield make
    for box in boxes:
        await box.close()
    for store in stores:
        await store.close()


async def test_delivers_form_posts_in_order_with_ids(opened):
    receiver = Receiver(free_port())
    await receiver.start()
    _, box = await opened()
    ids = [box.submit(receiver.url, {"NotificationName": "CallChanged", "Seq": str(i)}) for i in range(5)]
    await wait_until(lambda: len(receiver.requests) == 5)
    assert [f["Seq"] for f in receiver.forms()] == ["0", "1", "2", "3", "4"]
    assert [h["X-Notification-Id"] for h, _ in receiver.requests] == ids
    assert receiver.requests[0][0]["Content-Type"] == "application/x-www-form-urlencoded"
    assert await box.depth() == (0, None)
    await receiver.stop()


async def test_receiver_down_then_up_gets_everything_once_in_order(opened):
    receiver = Receiver(free_port())
    _, box = await opened()
    for i in range(3):
        box.submit(receiver.url, {"Seq": str(i)})
    await asyncio.sleep(0.5)  # several failed attempts meanwhile
    count, age = await box.depth()
    assert count == 3 and age is not None and age > 0.3
    await receiver.start()
    await wait_until(lambda: len(receiver.requests) == 3)
    await asyncio.sleep(0.3)
    assert [f["Seq"] for f in receiver.forms()] == ["0", "1", "2"]
    await receiver.stop()


async def test_failing_receiver_is_retried_until_it_accepts(opened):
    receiver = Receiver(free_port(), status=500)
    await receiver.start()
    _, box = await opened()
    box.submit(receiver.url, {"Seq": "0"})
    await wait_until(lambda: len(receiver.requests) >= 3)
    receiver.status = 200
    await wait_until(lambda: box.delivered == 1)
    ids = {h["X-Notification-Id"] for h, _ in receiver.requests}
    assert len(ids) == 1  # the same id on every retry
    await receiver.stop()


async def test_queued_notifications_survive_a_restart(opened):
    receiver = Receiver(free_port())
    store, box = await opened()
    box.submit(receiver.url, {"Seq": "0"})
    box.submit(receiver.url, {"Seq": "1"})
    await store.flush()
    await box.close()
    await store.close()

    await receiver.start()
    await opened()  # a new process, the same database
    await wait_until(lambda: len(receiver.requests) == 2)
    assert [f["Seq"] for f in receiver.forms()] == ["0", "1"]
    await receiver.stop()


async def test_json_body_and_hmac_signature(opened):
    receiver = Receiver(free_port())
    await receiver.start()
    _, box = await opened(secret="s3cret")
    box.submit(receiver.url, {"NotificationName": "CallChanged", "CallerId": "Jürgen Šťastný"}, as_json=True)
    await wait_until(lambda: len(receiver.requests) == 1)
    headers, body = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["CallerId"] == "Jürgen Šťastný"
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Ast-Bridge-Signature"] == expected
    await receiver.stop()


async def test_expired_notifications_are_dropped(opened):
    _, box = await opened(expiry=0.2)
    box.submit(f"http://127.0.0.1:{free_port()}/hook", {"Seq": "0"})
    await wait_until(lambda: box.expired == 1, timeout=3)
    assert (await box.depth())[0] == 0


async def test_slow_receiver_is_retried_at_least_once_in_order(opened):
    """A receiver slower than notify_timeout: the bridge gives up on that attempt and
    sends again. The receiver may have taken the slow one too, so it can see a
    notification twice (same X-Notification-Id: at-least-once delivery), never out
    of order and never lost."""
    receiver = Receiver(free_port())
    slow_once = {"left": 1}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        receiver.requests.append((dict(request.headers), body))
        if slow_once["left"]:
            slow_once["left"] -= 1
            await asyncio.sleep(1.5)  # the outbox's timeout in these tests is 1 s
        return web.Response()
    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()

    _, box = await opened()
    ids = [box.submit(receiver.url, {"Seq": str(i)}) for i in range(3)]
    await wait_until(lambda: box.delivered == 3, timeout=8)
    seen = [h["X-Notification-Id"] for h, _ in receiver.requests]
    assert seen[0] == seen[1] == ids[0]  # the slow attempt, then its retry
    assert [i for n, i in enumerate(seen) if i not in seen[:n]] == ids  # first sightings in order
    await runner.cleanup()
