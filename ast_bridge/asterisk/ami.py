"""The one place that talks AMI.

panoramisk is the AMI library of this project's stack, but its connection
handling does not fit a bridge that must never dial a call twice and never hang:
it replays unanswered actions after a reconnect (an Originate could ring a phone
twice), has no per-action timeout, reconnects at a fixed pace, sends pings
without noticing when none come back, decodes each read on its own (a UTF-8
character split across two reads is lost) and lets an exception in an event
handler tear the connection down. `AmiClient` replaces the connection layer,
and its parser too (`message.py` says why); messages behave like panoramisk's:

* every action has a timeout, and fails at once with `AmiUnavailable` while the
  link is down; nothing is ever re-sent after a reconnect;
* reconnects with capped exponential backoff (with jitter) for ever;
* a ping watchdog aborts a link that stopped answering (traffic dropped,
  socket still open), which starts a reconnect;
* an incremental UTF-8 decoder across reads;
* event handlers are isolated: an exception is logged, the link stays up;
* values are checked before they are written: AMI is line based, so a CR, LF
  or NUL in a value would let a caller inject headers or whole actions.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ast_bridge.asterisk.message import AmiMessage as Message
from ast_bridge.asterisk.message import parse_message

log = logging.getLogger(__name__)

EOL = "\r\n"
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")
MAX_VALUE_LENGTH = 4096

EventHandler = Callable[[Message], Any]
ConnectedHandler = Callable[[], Awaitable[None]]
ActionValue = str | Sequence[str]


class AmiState(str, Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


class AmiError(Exception):
    """Base of every AMI failure the rest of the bridge may see."""


class AmiUnavailable(AmiError):
    """The link to Asterisk is down (or went down before an answer came)."""


class AmiTimeout(AmiError):
    """Asterisk did not answer an action in time."""


class AmiActionFailed(AmiError):
    """Asterisk answered `Response: Error`."""

    def __init__(self, message: str, response: Message | None = None) -> None:
        super().__init__(message)
        self.response = response


class AmiUnsafeValue(AmiError, ValueError):
    """An action carried a key or value that could break AMI's framing."""


def check_action(action: Mapping[str, ActionValue]) -> None:
    """Refuse anything that could inject into the AMI stream. Raises `AmiUnsafeValue`."""
    for key, value in action.items():
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise AmiUnsafeValue(f"unsafe AMI header name {key!r}")
        if isinstance(value, str):
            values = [value]
        elif isinstance(value, (list, tuple)):
            values = list(value)
        else:
            raise AmiUnsafeValue(f"AMI header {key} must be text")
        for item in values:
            if not isinstance(item, str):
                raise AmiUnsafeValue(f"AMI header {key} must be text")
            if _FORBIDDEN_IN_VALUE.search(item):
                raise AmiUnsafeValue(f"AMI header {key} contains CR, LF or NUL")
            if len(item) > MAX_VALUE_LENGTH:
                raise AmiUnsafeValue(f"AMI header {key} is too long")


def encode_action(action: Mapping[str, ActionValue]) -> bytes:
    """Serialise one action; lists become repeated headers (e.g. `Variable`)."""
    lines = []
    for key, value in action.items():
        if isinstance(value, str):
            lines.append(f"{key}: {value}")
        else:
            lines.extend(f"{key}: {item}" for item in value)
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")


class _AmiProtocol(asyncio.Protocol):
    """Frames the byte stream into `AmiMessage`s (asterisk/message.py)."""

    def __init__(self, on_message: Callable[[Message], None], on_lost: Callable[[Exception | None], None],
                 wanted: Callable[[str], bool] = lambda name: True) -> None:
        self._on_message = on_message
        self._wanted = wanted
        self._on_lost = on_lost
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._banner_seen = False
        self.banner = ""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += self._decoder.decode(data)
        if not self._banner_seen:
            end = self._buffer.find(EOL)
            if end < 0:
                return
            self.banner = self._buffer[:end]
            self._buffer = self._buffer[end + 2 :]
            self._banner_seen = True
        if "\r\n\r\n" not in self._buffer:
            return
        *frames, self._buffer = self._buffer.split("\r\n\r\n")
        wanted = self._wanted
        for frame in frames:
            frame = frame.strip()
            if not frame:
                continue
            # an event no handler wants and no action waits for is not worth parsing
            if frame.startswith("Event: ") and "ActionID: " not in frame:
                end = frame.find("\r\n")
                if not wanted(frame[7:end if end > 0 else None]):
                    continue
            message = parse_message(frame)
            if message is not None:
                self._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(exc)


@dataclass
class _Pending:
    future: asyncio.Future
    as_list: bool
    messages: list[Message] = field(default_factory=list)

    def feed(self, message: Message) -> None:
        if self.future.done():
            return
        if not self.messages and "response" in message:
            if message.get("response", "").lower() == "error":
                self.future.set_exception(AmiActionFailed(message.get("message", "error"), message))
                return
            if not self.as_list:
                self.future.set_result(message)
                return
        self.messages.append(message)
        if message.get("eventlist", "").lower() == "complete" or message.get("event", "").endswith("Complete"):
            self.future.set_result(self.messages)


class AmiClient:
    """A self-healing AMI connection. Start it once; it reconnects on its own."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        connect_timeout: float = 2.0,
        action_timeout: float = 1.5,
        ping_interval: float = 5.0,
        ping_timeout: float = 2.0,
        reconnect_min: float = 0.2,
        reconnect_max: float = 4.0,
        events: str = "on",
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret = username, secret
        self.connect_timeout = connect_timeout
        self.action_timeout = action_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self._events = events
        self.state = AmiState.DISCONNECTED
        self.last_error: str | None = None
        self.protocol_version: str | None = None
        self.connected_since: float | None = None
        self.connects = 0
        self.actions_sent = 0
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._handlers: dict[str, list[EventHandler]] = {}
        self._on_connected: list[ConnectedHandler] = []
        self._protocol: _AmiProtocol | None = None
        self._lost: asyncio.Future | None = None
        self._booted: asyncio.Event | None = None
        self._check_link: asyncio.Event | None = None  # an action went unanswered: ping now
        self._runner: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()

    # --- public API -------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.state is AmiState.CONNECTED

    @property
    def in_flight(self) -> int:
        """Actions sent on this link and not answered yet."""
        return len(self._pending)

    def on_event(self, name: str, handler: EventHandler) -> None:
        """Call `handler(message)` for events named `name` (any case); `*` for all.
        Handlers run in arrival order; an async handler is scheduled as a task."""
        self._handlers.setdefault(name.lower(), []).append(handler)

    def on_connected(self, handler: ConnectedHandler) -> None:
        """Run `handler()` after every successful login (to rebuild state)."""
        self._on_connected.append(handler)

    async def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="ami-connection")

    async def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.connected

    async def close(self) -> None:
        self.state = AmiState.CLOSED
        if self._runner is not None:
            self._runner.cancel()
            try:
                await self._runner
            except (asyncio.CancelledError, Exception):
                pass
            self._runner = None
        if self._protocol and self._protocol.transport:
            self._protocol.transport.close()
        self._fail_pending(AmiUnavailable("AMI client closed"))

    async def send(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> Message:
        """Send one action and return its response (`Response: Success`)."""
        return await self._send(action, timeout, as_list=False, require_connected=True)

    async def send_list(self, action: Mapping[str, ActionValue], timeout: float | None = None) -> list[Message]:
        """Send an action answered by an event list; returns response + events."""
        return await self._send(action, timeout, as_list=True, require_connected=True)

    # --- sending -------------------------------------------------------------------
    async def _send(self, action: Mapping[str, ActionValue], timeout: float | None, *, as_list: bool,
                    require_connected: bool) -> Any:
        check_action(action)
        if require_connected and not self.connected:
            raise AmiUnavailable(self.last_error or "not connected to Asterisk")
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            raise AmiUnavailable("not connected to Asterisk")
        fields = dict(action)
        action_id = fields.get("ActionID")
        if not isinstance(action_id, str) or not action_id:
            action_id = f"astb-{next(self._ids)}"
            fields["ActionID"] = action_id
        if action_id in self._pending:
            raise AmiUnsafeValue(f"ActionID {action_id} is already in use")
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future, as_list)
        try:
            protocol.transport.write(encode_action(fields))
            self.actions_sent += 1
            async with asyncio.timeout(timeout if timeout is not None else self.action_timeout):
                return await future
        except TimeoutError:
            if self._check_link is not None and fields.get("Action") != "Ping":
                self._check_link.set()  # the strongest hint of a dead link: the watchdog looks now
            raise AmiTimeout(f"no answer from Asterisk to {fields.get('Action')}") from None
        finally:
            self._pending.pop(action_id, None)

    # --- receiving -------------------------------------------------------------------
    def _on_message(self, message: Message) -> None:
        action_id = message.get("actionid")
        if action_id:
            pending = self._pending.get(action_id)
            if pending is not None:
                pending.feed(message)
                return
        event = message.get("event")
        if event:
            if event == "FullyBooted" and self._booted is not None:
                self._booted.set()
            self._dispatch(event, message)

    def _wants_event(self, name: str) -> bool:
        return name == "FullyBooted" or "*" in self._handlers or name.lower() in self._handlers

    def _dispatch(self, event: str, message: Message) -> None:
        for handler in self._handlers.get(event.lower(), []) + self._handlers.get("*", []):
            try:
                result = handler(message)
            except Exception:
                log.exception("AMI event handler %r failed on %s; link kept", handler, event)
                continue
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._background.add(task)
                task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("AMI handler task failed", exc_info=task.exception())

    def _on_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(exc)

    def _fail_pending(self, error: AmiError) -> None:
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(error)
                item.future.exception()  # mark retrieved: the sender may have gone

    # --- connection life cycle -------------------------------------------------------
    async def _run(self) -> None:
        delay = self.reconnect_min
        while self.state is not AmiState.CLOSED:
            was_connected = False
            try:
                was_connected = await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # OSError, timeouts, login refused, ...
                self.last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("AMI %s:%s unavailable: %s", self.host, self.port, self.last_error)
            finally:
                if self.state is not AmiState.CLOSED:
                    self.state = AmiState.DISCONNECTED
                self.connected_since = None
                self._fail_pending(AmiUnavailable("connection to Asterisk lost"))
                if self._protocol and self._protocol.transport:
                    self._protocol.transport.abort()
            if was_connected:
                delay = self.reconnect_min
            await asyncio.sleep(delay * random.uniform(0.8, 1.0))
            delay = min(delay * 2, self.reconnect_max)

    async def _connect_once(self) -> bool:
        """Connect, log in, wait for FullyBooted, serve until the link drops.
        Returns True when the link was fully up at some point."""
        self.state = AmiState.CONNECTING
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        self._booted = asyncio.Event()
        self._check_link = asyncio.Event()
        async with asyncio.timeout(self.connect_timeout):
            _, protocol = await loop.create_connection(
                lambda: _AmiProtocol(self._on_message, self._on_lost, self._wants_event), self.host, self.port
            )
        self._protocol = protocol
        login = await self._send(
            {"Action": "Login", "Username": self._username, "Secret": self._secret, "Events": self._events},
            self.connect_timeout, as_list=False, require_connected=False,
        )
        if login.get("response", "").lower() != "success":
            raise AmiActionFailed(f"login refused: {login.get('message')}")
        self.protocol_version = protocol.banner.partition("/")[2] or None
        booted = asyncio.ensure_future(self._booted.wait())
        done, _ = await asyncio.wait({booted, self._lost}, return_when=asyncio.FIRST_COMPLETED)
        if self._lost in done:
            booted.cancel()
            raise AmiUnavailable("connection lost before Asterisk was fully booted")
        self.state = AmiState.CONNECTED
        self.connected_since = time.time()
        self.connects += 1
        self.last_error = None
        log.info("AMI connected to %s:%s (%s)", self.host, self.port, protocol.banner)
        for handler in self._on_connected:
            try:
                await handler()
            except Exception:
                log.exception("AMI on-connected handler %r failed", handler)
        watchdog = asyncio.create_task(self._watchdog(), name="ami-watchdog")
        try:
            exc = await self._lost
        finally:
            watchdog.cancel()
        log.warning("AMI connection to %s:%s lost%s", self.host, self.port, f": {exc}" if exc else "")
        self.last_error = "connection to Asterisk lost"
        return True

    async def _watchdog(self) -> None:
        """Ping on a quiet schedule, and at once after an action went unanswered; a
        ping that is not answered means a dead link."""
        check = self._check_link
        assert check is not None
        while True:
            try:
                await asyncio.wait_for(check.wait(), self.ping_interval)
            except TimeoutError:
                pass
            check.clear()
            try:
                await self._send({"Action": "Ping"}, self.ping_timeout, as_list=False, require_connected=True)
            except AmiTimeout:
                log.error("AMI ping not answered within %.1f s: dropping the link", self.ping_timeout)
                self.last_error = "AMI ping not answered"
                if self._protocol and self._protocol.transport:
                    self._protocol.transport.abort()
                self._on_lost(AmiTimeout("ping not answered"))
                return
            except AmiError:
                return


class AmiActionLinks:
    """Several AMI sessions for actions that do not depend on each other's order.

    Asterisk works through one session's actions one at a time, in that session's
    thread: with a burst of Originates in flight, the answers queue behind each
    other there (measured on the lab: raw AMI accepted Originates at a median
    4,100/s on one session and 5,800/s spread over two). `pick()` gives the connected
    link with the fewest actions in flight; the first link is the bridge's main
    action link, used for everything whose order matters.
    """

    def __init__(self, links: list[AmiClient]) -> None:
        if not links:
            raise ValueError("at least one AMI link")
        self.links = links

    @property
    def main(self) -> AmiClient:
        return self.links[0]

    def pick(self) -> AmiClient:
        connected = [link for link in self.links if link.connected]
        if not connected:
            return self.main  # its send() raises AmiUnavailable with the reason
        return min(connected, key=lambda link: link.in_flight)

    async def start(self) -> None:
        for link in self.links:
            await link.start()

    async def close(self) -> None:
        for link in self.links:
            await link.close()
