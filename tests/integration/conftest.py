"""Integration fixtures: the lab's real Asterisk, its sipp phones and the bridge.

The lab is started by `make test` (or here, when it is not up). If it cannot be
started the whole run fails with the lab's own error: integration tests are
never skipped silently.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab" / "lab.sh"
RUN = ROOT / "lab" / "run"
CHROOT = Path(os.environ.get("AST_BRIDGE_LAB_CACHE", Path.home() / ".cache" / "ast_bridge")) / "asterisk-sid"
O10_URL = "http://127.0.0.1:9509/api"
XE_URL = "http://127.0.0.1:7780/"
STATUS_URL = "http://127.0.0.1:9509/status"
USER = {"Username": "HTTP_User_1", "Password": "qwe123"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def lab() -> None:
    status = subprocess.run([str(LAB), "status"], capture_output=True, text=True)
    if status.returncode == 0:
        return
    started = subprocess.run([str(LAB), "up"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"the lab could not be started:\n{started.stderr[-4000:]}", pytrace=False)


# --- Asterisk, observed through its own CLI -----------------------------------------
def asterisk_cli(command: str) -> str:
    result = subprocess.run(["chroot", str(CHROOT), "/usr/sbin/asterisk", "-rx", command],
                            capture_output=True, text=True, timeout=10)
    return result.stdout


@dataclass
class Channel:
    name: str
    state: str
    application: str
    caller_id: str
    bridge_id: str
    uniqueid: str

    @property
    def tech_name(self) -> str:
        """`PJSIP/101-0000001a` -> `PJSIP/101`."""
        return re.sub(r"-[0-9a-f]+$", "", self.name)


def channels() -> list[Channel]:
    out = []
    for line in asterisk_cli("core show channels concise").splitlines():
        parts = line.split("!")
        if len(parts) >= 14:
            # Channel!Context!Exten!Prio!State!App!Data!CallerID!Acct!PeerAcct!AMA!Duration!BridgeID!Uniqueid
            out.append(Channel(parts[0], parts[4], parts[5], parts[7], parts[12], parts[-1]))
    return out


def bridged_pairs() -> list[set[str]]:
    """Sets of channel tech names that share a bridge."""
    groups: dict[str, set[str]] = {}
    for channel in channels():
        if channel.bridge_id:
            groups.setdefault(channel.bridge_id, set()).add(channel.tech_name)
    return list(groups.values())


async def eventually(check: Callable[[], object], timeout: float = 5.0, interval: float = 0.1) -> object:
    """Poll `check` until it returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


async def eventually_async(check: Callable[[], Awaitable[object]], timeout: float = 5.0,
                           interval: float = 0.1) -> object:
    """`eventually` for checks that are coroutines (API calls)."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


def hangup_all() -> None:
    asterisk_cli("channel request hangup all")


def bridge_connected() -> bool:
    try:
        with urllib.request.urlopen(STATUS_URL, timeout=2) as response:
            body = json.load(response)
            return body["ami"]["state"] == body["ami_events"]["state"] == "connected"
    except OSError:
        return False


@pytest.fixture(autouse=True)
async def clean_pbx() -> AsyncIterator[None]:
    """Every test starts with the bridge connected and no channel on the PBX, and
    ends with no channel."""
    await eventually(bridge_connected, timeout=15)
    hangup_all()
    await eventually(lambda: not channels(), timeout=10)
    yield
    hangup_all()
    await eventually(lambda: not channels(), timeout=10)


def phone_invites(number: str) -> list[str]:
    log = RUN / f"phone-{number}.log"
    if not log.exists():
        return []
    return [line for line in log.read_text(errors="replace").splitlines() if line.startswith("INVITE")]


def phone_dtmf(number: str) -> list[str]:
    """The DTMF digits a lab phone received (as SIP INFO), in order."""
    log = RUN / f"phone-{number}.log"
    if not log.exists():
        return []
    return [line.split()[1] for line in log.read_text(errors="replace").splitlines()
            if line.startswith("DTMF ") and len(line.split()) > 1]


# --- the bridge's HTTP API -------------------------------------------------------------
@dataclass
class ApiAnswer:
    status: int
    text: str
    content_type: str

    @property
    def xml(self) -> ET.Element:
        return ET.fromstring(self.text)

    @property
    def code(self) -> int:
        return int(self.xml.findtext("Code"))

    @property
    def message(self) -> str:
        return self.xml.findtext("Message")

    def get(self, name: str) -> str | None:
        return self.xml.findtext(name)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession) -> Callable:
    async def call(command: str, *, url: str = O10_URL, method: str = "GET", auth: bool = True,
                   **params: str) -> ApiAnswer:
        fields = {"command": command, **params, **(USER if auth else {})}
        if method == "GET":
            response = await http.get(url, params=fields)
        else:
            response = await http.post(url, data=fields)
        async with response:
            return ApiAnswer(response.status, await response.text(), response.headers.get("Content-Type", ""))
    return call


# --- a local webhook receiver ----------------------------------------------------------
@dataclass
class Receiver:
    url: str
    posts: list[dict[str, str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    async def wait_for(self, predicate: Callable[[dict[str, str]], bool], timeout: float = 10.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for post in self.posts:
                if predicate(post):
                    return post
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching notification within {timeout}s; got {self.posts!r}")


NOTIFY_PORT = 9599  # lab/ast-bridge.toml's notify_urls


class ReceiverServer:
    """A local webhook receiver that a test can stop and start again."""

    def __init__(self) -> None:
        self.receiver = Receiver(f"http://127.0.0.1:{NOTIFY_PORT}/error")
        self._runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()

        async def collect(request: web.Request) -> web.Response:
            self.receiver.posts.append(dict(await request.post()))
            self.receiver.headers.append(dict(request.headers))
            return web.Response(text="<Response></Response>", content_type="application/xml")

        app.router.add_post("/{tail:.*}", collect)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", NOTIFY_PORT, reuse_address=True).start()
        return self.receiver

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def receiver_server() -> AsyncIterator[ReceiverServer]:
    server = ReceiverServer()
    yield server
    await server.stop()


@pytest.fixture
async def receiver(receiver_server: ReceiverServer) -> Receiver:
    """Receives ErrorUrl posts (at `receiver.url`) and the lab's CallChanged posts."""
    return await receiver_server.start()


async def bridge_status(http: aiohttp.ClientSession) -> dict:
    async with http.get(STATUS_URL) as response:
        return await response.json()
