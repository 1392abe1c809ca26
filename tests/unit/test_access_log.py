"""The access log must never carry credentials."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from ast_bridge.http.access_log import RedactingAccessLogger, redact


@pytest.mark.parametrize(("path_qs", "expected"), [
    ("/api?Command=CallSetup&Username=HTTP_User_1&Password=qwe123&Caller=101&Callee=102",
     "/api?Command=CallSetup&Username=***&Password=***&Caller=101&Callee=102"),
    ("/api?username=a&PASSWORD=b", "/api?username=***&PASSWORD=***"),
    ("/?pAsSwOrD=x%20y&uSeRnAmE=z", "/?pAsSwOrD=***&uSeRnAmE=***"),
    ("/api?Password=&Command=X", "/api?Password=***&Command=X"),
    ("/api?Password=a%26b&Command=X", "/api?Password=***&Command=X"),
])
def test_credentials_are_masked(path_qs: str, expected: str) -> None:
    assert redact(path_qs) == expected


@pytest.mark.parametrize("path_qs", [
    "/api?Command=CallSetup&Caller=101&Callee=102&ErrorUrl=http%3A%2F%2Fh%2Fe",
    "/api",
    "/status",
    "/api?Command=GetCalls&CallId=H2Wwb",
])
def test_other_parameters_are_kept(path_qs: str) -> None:
    assert redact(path_qs) == path_qs


def test_password_with_semicolon_is_fully_masked() -> None:
    assert redact("/api?Command=X&Password=hunter;2secret&Caller=101") == \
        "/api?Command=X&Password=***&Caller=101"


def test_logger_writes_redacted_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.access")
    access = RedactingAccessLogger(logger, "")
    request = SimpleNamespace(remote="10.0.0.7", method="GET",
                              path_qs="/api?Command=X&Username=u&Password=p")
    with caplog.at_level(logging.INFO, logger="test.access"):
        access.log(request, SimpleNamespace(status=200), 0.0123)  # type: ignore[arg-type]
    assert caplog.messages == ['10.0.0.7 "GET /api?Command=X&Username=***&Password=***" 200 12.3ms']


async def test_malformed_http_is_one_warning_line_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from aiohttp import web

    from ast_bridge.http.access_log import quiet_malformed_requests

    quiet_malformed_requests()
    quiet_malformed_requests()  # idempotent
    runner = web.AppRunner(web.Application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    finally:
        await runner.cleanup()
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
    server = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [r.levelno for r in server] == [logging.WARNING]
    assert server[0].getMessage() == "malformed HTTP request from 127.0.0.1: Invalid character in Content-Length"
    assert server[0].exc_info is None and server[0].exc_text is None
