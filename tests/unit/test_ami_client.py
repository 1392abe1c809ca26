"""AmiClient against a small fake AMI server on 127.0.0.1 (random port).

The fake server speaks just enough AMI: banner, Login (+ FullyBooted), Ping,
an event list, and on demand it goes silent, ignores pings, drops the link, or
splits a write in the middle of a UTF-8 character. It records every action it
received, so the tests can tell what was (not) written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from panoramisk.message import Message  # noqa: F401

from ast_bridge.asterisk import ami as ami_module
from ast_bridge.asterisk.ami import (
    AmiActionFailed,
    AmiActionLinks,
    AmiClient,
    AmiState,
    AmiTimeout,
    AmiUnavailable,
    AmiUnsafeValue,
    check_action,
    encode_action,
)
from ast_bridge.asterisk.message import AmiMessage

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


class FakeAmi:
    def __init__(self) -> None:
        self.actions: list[tuple[int, dict[str, str]]] = []  # (connection number, headers)
        self.raw = bytearray()  # every byte received, all connections
        self.connections = 0
        self.closed_by_peer = 0
        self.silent = False  # answer nothing but Login
        self.ignore_pings_on: set[int] = set()  # connection numbers whose pings go unanswered
        self.drop_on: str | None = None  # drop the link when this action arrives (unanswered)
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()

    def actions_named(self, name: str, connection: int | None = None) -> list[dict[str, str]]:
        return [a for c, a in self.actions if a.get("Action") == name and connection in (None, c)]

    @property
    def writer(self) -> asyncio.StreamWriter:
        return self._writers[-1]

    async def send(self, *chunks: bytes, pause: float = 0.05) -> None:
        """Write `chunks` to the newest connection as separate TCP writes."""
        for i, chunk in enumerate(chunks):
            if i:
                await asyncio.sleep(pause)
            self.writer.write(chunk)
            await self.writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self._writers.append(writer)
        writer.write(BANNER)
        buffer = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    self.closed_by_peer += 1
                    break
                self.raw += data
                buffer += data
                while b"\r\n\r\n" in buffer:
                    frame, buffer = buffer.split(b"\r\n\r\n", 1)
                    headers: dict[str, str] = {}
                    for line in frame.decode("utf-8").split("\r\n"):
                        key, _, value = line.partition(": ")
                        headers[key] = value
                    self.actions.append((number, headers))
                    if not self._answer(number, headers, writer):
                        return
        except ConnectionError:
            self.closed_by_peer += 1
        finally:
            writer.transport.abort()

    def _answer(self, number: int, action: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        name, action_id = action.get("Action", ""), action.get("ActionID", "")
        if name == self.drop_on:
            writer.transport.abort()
            return False
        if name == "Login":
            writer.write(f"Response: Success\r\nActionID: {action_id}\r\nMessage: Authentication accepted\r\n\r\n"
                         "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n".encode())
            return True
        if self.silent:
            return True
        if name == "Ping":
            if number not in self.ignore_pings_on:
                writer.write(f"Response: Success\r\nActionID: {action_id}\r\nPing: Pong\r\n"
                             "Timestamp: 1700000000.000000\r\n\r\n".encode())
        elif name == "CoreShowChannels":
            writer.write(
                f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n"
                "Message: Channels will follow\r\n\r\n"
                f"Event: CoreShowChannel\r\nActionID: {action_id}\r\nChannel: PJSIP/101-00000001\r\n\r\n"
                "Event: Newchannel\r\nChannel: PJSIP/105-00000009\r\n\r\n"
                f"Event: CoreShowChannel\r\nActionID: {action_id}\r\nChannel: PJSIP/102-00000002\r\n\r\n"
                f"Event: CoreShowChannelsComplete\r\nActionID: {action_id}\r\nEventList: Complete\r\n"
                "ListItems: 2\r\n\r\n".encode())
        elif name == "Fail":
            writer.write(f"Response: Error\r\nActionID: {action_id}\r\nMessage: Permission denied\r\n\r\n".encode())
        else:
            writer.write(f"Response: Success\r\nActionID: {action_id}\r\nMessage: {name} done\r\n\r\n".encode())
        return True


async def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@pytest.fixture
async def server() -> AsyncIterator[FakeAmi]:
    fake = await FakeAmi().start()
    yield fake
    await fake.stop()


ClientFactory = Callable[..., Awaitable[AmiClient]]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    clients: list[AmiClient] = []

    async def factory(port: int, *, start: bool = True, wait: bool = True,
                      setup: Callable[[AmiClient], None] | None = None, **options: float) -> AmiClient:
        options.setdefault("connect_timeout", 1.0)
        options.setdefault("reconnect_min", 0.05)
        options.setdefault("reconnect_max", 0.1)
        options.setdefault("ping_interval", 60.0)
        client = AmiClient("127.0.0.1", port, "bridge", "s3cret", **options)
        clients.append(client)
        if setup is not None:
            setup(client)
        if start:
            await client.start()
            if wait:
                assert await client.wait_connected(2.0), client.last_error
        return client

    yield factory
    for client in clients:
        await client.close()


# --- connecting -----------------------------------------------------------------------------
async def test_connect_and_login(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port)
    assert client.state is AmiState.CONNECTED
    assert client.connected
    assert client.connects == 1
    assert client.protocol_version == "11.0.0"
    assert client.last_error is None
    assert client.connected_since is not None
    assert [a for _, a in server.actions] == [
        {"Action": "Login", "Username": "bridge", "Secret": "s3cret", "Events": "on", "ActionID": "astb-1"},
    ]


async def test_send_returns_the_response(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port)
    response = await client.send({"Action": "Ping"})
    assert isinstance(response, AmiMessage)
    assert response["Response"] == "Success"
    assert response["Ping"] == "Pong"
    assert response["ActionID"] == server.actions_named("Ping")[0]["ActionID"]
    own = await client.send({"Action": "Hold", "ActionID": "mine-1"})
    assert (own["ActionID"], own["Message"]) == ("mine-1", "Hold done")


async def test_error_response_raises_action_failed(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port)
    with pytest.raises(AmiActionFailed, match="^Permission denied$") as excinfo:
        await client.send({"Action": "Fail"})
    assert excinfo.value.response is not None and excinfo.value.response["Response"] == "Error"
    assert client.connected


async def test_send_list_collects_until_complete(server: FakeAmi, make_client: ClientFactory) -> None:
    others: list[Message] = []
    client = await make_client(server.port, setup=lambda c: c.on_event("Newchannel", others.append))
    messages = await client.send_list({"Action": "CoreShowChannels"})
    assert [(m.get("response", ""), m.get("event", "")) for m in messages] == [
        ("Success", ""), ("", "CoreShowChannel"), ("", "CoreShowChannel"), ("", "CoreShowChannelsComplete"),
    ]
    assert [m["Channel"] for m in messages[1:3]] == ["PJSIP/101-00000001", "PJSIP/102-00000002"]
    assert messages[3]["ListItems"] == "2"
    # the unrelated event in the middle went to the handlers, not into the list
    assert [m["Channel"] for m in others] == ["PJSIP/105-00000009"]


async def test_action_timeout(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port, action_timeout=0.2)
    server.silent = True
    started = time.monotonic()
    with pytest.raises(AmiTimeout):
        await client.send({"Action": "Ping"})
    assert 0.15 <= time.monotonic() - started < 0.6
    started = time.monotonic()
    with pytest.raises(AmiTimeout):
        await client.send({"Action": "Ping"}, timeout=0.05)
    assert time.monotonic() - started < 0.3
    assert client.connected  # a slow answer alone does not drop the link
    server.silent = False
    assert (await client.send({"Action": "Ping"}))["Ping"] == "Pong"


async def test_send_while_disconnected_fails_at_once(make_client: ClientFactory) -> None:
    client = await make_client(1, start=False)
    started = time.monotonic()
    with pytest.raises(AmiUnavailable):
        await client.send({"Action": "Ping"})
    with pytest.raises(AmiUnavailable):
        await client.send_list({"Action": "CoreShowChannels"})
    assert time.monotonic() - started < 0.05


async def test_send_while_server_down_fails_at_once(make_client: ClientFactory) -> None:
    down = await FakeAmi().start()
    port = down.port
    await down.stop()  # nothing listens there any more
    client = await make_client(port, wait=False)
    assert await wait_until(lambda: client.last_error is not None, 1.0)
    assert client.state in (AmiState.DISCONNECTED, AmiState.CONNECTING)
    assert "ConnectionRefused" in client.last_error or "OSError" in client.last_error
    started = time.monotonic()
    with pytest.raises(AmiUnavailable):
        await client.send({"Action": "Ping"}, timeout=5.0)
    assert time.monotonic() - started < 0.05


async def test_close(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port)
    await client.close()
    assert client.state is AmiState.CLOSED
    with pytest.raises(AmiUnavailable):
        await client.send({"Action": "Ping"})
    assert await wait_until(lambda: server.closed_by_peer == 1, 1.0)


# --- refusing unsafe actions --------------------------------------------------------------
UNSAFE_ACTIONS = [
    {"Action": "Ping", "X": "a\r\nAction: Originate"},
    {"Action": "Ping", "X": "a\nb"},
    {"Action": "Ping", "X": "a\rb"},
    {"Action": "Ping", "X": "a\x00b"},
    {"Action": "Ping", "Variable": ["A=1", "B=2\r\nAction: Hangup"]},
    {"Action": "Ping", "X": "a" * 4097},
    {"Action": "Ping", "Bad Name": "x"},
    {"Action": "Ping", "Bad:Name": "x"},
    {"Action": "Ping", "": "x"},
    {"Action": "Ping", "\u00c4ction": "x"},
    {"Action": "Ping", "A" * 65: "x"},
    {"Action": "Ping", "X\r\nY": "x"},
]


@pytest.mark.parametrize("action", UNSAFE_ACTIONS)
def test_check_action_refuses(action: dict) -> None:
    with pytest.raises(AmiUnsafeValue):
        check_action(action)


def test_check_action_accepts_and_encode() -> None:
    action = {"Action": "Originate", "Variable": ["A=1", "B=J\u00fcrgen"], "X_y-1": "a" * 4096}
    check_action(action)
    assert encode_action({"Action": "Originate", "Variable": ["A=1", "B=J\u00fcrgen"]}) == \
        "Action: Originate\r\nVariable: A=1\r\nVariable: B=J\u00fcrgen\r\n\r\n".encode()


async def test_unsafe_actions_write_nothing(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port)
    await asyncio.sleep(0.05)
    before = bytes(server.raw)
    for action in UNSAFE_ACTIONS:
        with pytest.raises(AmiUnsafeValue):
            await client.send(action)
    await asyncio.sleep(0.1)
    assert bytes(server.raw) == before
    assert client.connected
    assert (await client.send({"Action": "Ping"}))["Ping"] == "Pong"
    assert [a["Action"] for _, a in server.actions] == ["Login", "Ping"]


def test_check_action_refuses_header_name_with_trailing_newline() -> None:
    with pytest.raises(AmiUnsafeValue):
        check_action({"Action\n": "Ping"})


def test_check_action_refuses_int_value_with_unsafe_value() -> None:
    with pytest.raises(AmiUnsafeValue):
        check_action({"Action": "Originate", "Priority": 1})  # type: ignore[dict-item]


# --- events -------------------------------------------------------------------------------
async def test_failing_event_handler_keeps_the_link(server: FakeAmi, make_client: ClientFactory,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    received: list[tuple[str, str]] = []
    arrived = asyncio.Event()

    def boom(message: Message) -> None:
        raise RuntimeError("handler bug")

    async def async_boom(message: Message) -> None:
        raise RuntimeError("async handler bug")

    def record(message: Message) -> None:
        received.append((message["Event"], message.get("Seq", "")))
        if message["Event"] == "Later":
            arrived.set()

    def setup(client: AmiClient) -> None:
        client.on_event("Boom", boom)
        client.on_event("boom", async_boom)
        client.on_event("BOOM", record)  # runs after the failing handlers: names match in any case
        client.on_event("Later", record)

    client = await make_client(server.port, setup=setup)
    with caplog.at_level(logging.ERROR, logger="ast_bridge.asterisk.ami"):
        await server.send(b"Event: Boom\r\nSeq: 1\r\n\r\n", b"Event: Later\r\nSeq: 2\r\n\r\n")
        await asyncio.wait_for(arrived.wait(), 1.0)
        await asyncio.sleep(0.02)
    assert received == [("Boom", "1"), ("Later", "2")]
    assert client.connected and client.connects == 1
    assert server.closed_by_peer == 0
    assert any("handler bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    assert any("async handler bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    assert (await client.send({"Action": "Ping"}))["Ping"] == "Pong"


async def test_utf8_character_split_across_writes(server: FakeAmi, make_client: ClientFactory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    chunks: list[bytes] = []
    original = ami_module._AmiProtocol.data_received

    def spy(self: ami_module._AmiProtocol, data: bytes) -> None:
        chunks.append(bytes(data))
        original(self, data)

    monkeypatch.setattr(ami_module._AmiProtocol, "data_received", spy)
    got: list[Message] = []
    arrived = asyncio.Event()

    def record(message: Message) -> None:
        got.append(message)
        arrived.set()

    client = await make_client(server.port, setup=lambda c: c.on_event("UserEvent", record))
    event = "Event: UserEvent\r\nUserEvent: Name\r\nName: J\u00fcrgen \u0160\u0165astn\u00fd\r\n\r\n".encode()
    first = event.index("\u00fc".encode()) + 1  # between the two bytes of ü
    second = event.index("\u0165".encode()) + 1  # between the two bytes of ť
    await server.send(event[:first], event[first:second], event[second:])
    await asyncio.wait_for(arrived.wait(), 1.0)
    assert [m["Name"] for m in got] == ["J\u00fcrgen \u0160\u0165astn\u00fd"]
    assert "\ufffd" not in got[0]["Name"]
    # the split really reached the client as separate reads ending mid-character
    assert event[:first] in chunks and event[second:] in chunks
    assert client.connected


# --- losing the link ----------------------------------------------------------------------
async def test_reconnect_after_drop_without_resending(server: FakeAmi, make_client: ClientFactory) -> None:
    client = await make_client(server.port, action_timeout=1.5)
    server.drop_on = "Originate"
    started = time.monotonic()
    with pytest.raises(AmiUnavailable):
        await client.send({"Action": "Originate", "Channel": "Local/101@ast-bridge-caller", "Exten": "102"})
    assert time.monotonic() - started < 0.5  # failed at the drop, not at the action timeout
    assert await wait_until(lambda: client.connects == 2, 2.0), client.last_error
    assert client.connected
    assert client.last_error is None
    assert server.connections == 2
    await asyncio.sleep(0.2)
    assert len(server.actions_named("Originate")) == 1
    assert [a["Action"] for c, a in server.actions if c == 2] == ["Login"]
    assert (await client.send({"Action": "Ping"}))["Ping"] == "Pong"
    assert len(server.actions_named("Originate")) == 1


async def test_on_connected_runs_after_every_login(server: FakeAmi, make_client: ClientFactory) -> None:
    calls: list[int] = []

    def setup(client: AmiClient) -> None:
        async def on_connected() -> None:
            calls.append(client.connects)
        client.on_connected(on_connected)

    client = await make_client(server.port, setup=setup)
    server.drop_on = "Drop"
    with pytest.raises(AmiUnavailable):
        await client.send({"Action": "Drop"})
    assert await wait_until(lambda: client.connects == 2, 2.0)
    assert await wait_until(lambda: calls == [1, 2], 0.5), calls


async def test_watchdog_reconnects_when_pings_go_unanswered(server: FakeAmi, make_client: ClientFactory) -> None:
    server.ignore_pings_on = {1}
    client = await make_client(server.port, ping_interval=0.2, ping_timeout=0.2)
    started = time.monotonic()
    assert await wait_until(lambda: client.connects == 2, 1.5), client.last_error
    assert time.monotonic() - started >= 0.3  # one interval plus one timeout
    assert len(server.actions_named("Ping", connection=1)) >= 1
    assert server.closed_by_peer >= 1  # the client dropped the dead link itself
    # the new link answers its pings: it is kept
    await asyncio.sleep(0.5)
    assert client.connects == 2
    assert client.connected
    assert len(server.actions_named("Ping", connection=2)) >= 1


async def test_an_unanswered_action_makes_the_watchdog_look_at_once(server: FakeAmi,
                                                                    make_client: ClientFactory) -> None:
    # a link whose traffic is silently dropped: the first action that goes unanswered
    # triggers a ping now, not at the next scheduled one (a minute away here)
    client = await make_client(server.port, ping_interval=60.0, ping_timeout=0.3)
    server.silent = True
    started = time.monotonic()
    with pytest.raises(AmiTimeout):
        await client.send({"Action": "Originate"}, timeout=0.2)
    assert await wait_until(lambda: client.connects == 2, 2.0), client.last_error
    assert time.monotonic() - started < 1.5  # action timeout + ping timeout + reconnect
    assert len(server.actions_named("Ping", connection=1)) == 1
    assert client.last_error is None and client.connected


# --- several action links ---------------------------------------------------------------------
async def test_action_links_pick_the_connected_link_with_fewest_actions_in_flight(
        server: FakeAmi, make_client: ClientFactory) -> None:
    main, extra = await make_client(server.port), await make_client(server.port)
    links = AmiActionLinks([main, extra])
    assert links.main is main and links.pick() is main  # a tie goes to the main link
    server.silent = True  # answers nothing: what is sent stays in flight
    first = asyncio.create_task(links.pick().send({"Action": "Originate"}, timeout=1.0))
    await wait_until(lambda: main.in_flight == 1)
    second = asyncio.create_task(links.pick().send({"Action": "Originate"}, timeout=1.0))
    await wait_until(lambda: extra.in_flight == 1)
    assert (main.in_flight, extra.in_flight) == (1, 1)
    assert {c for c, a in server.actions if a.get("Action") == "Originate"} == {1, 2}  # one per session
    for task in (first, second):
        with pytest.raises(AmiTimeout):
            await task
    await extra.close()
    assert links.pick() is main  # a link that is down is not picked
    await main.close()
    assert links.pick() is main  # none up: the main link, whose send says why
    with pytest.raises(AmiUnavailable):
        await links.pick().send({"Action": "Ping"})


def test_action_links_need_one_link() -> None:
    with pytest.raises(ValueError):
        AmiActionLinks([])
