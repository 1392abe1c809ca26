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
