"""Access log without secrets: Ozeki clients put Username and Password in the
query string, so the request line is logged with those values masked. And
malformed HTTP (scanners, broken clients) logged as one warning line instead of
aiohttp's ERROR with a traceback for each such request."""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse

_SECRET_RE = re.compile(r"(?i)((?:^|[?&;])(?:password|username|secret)=)[^&]*")


def redact(path_qs: str) -> str:
    return _SECRET_RE.sub(r"\1***", path_qs)


class RedactingAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.1fms', request.remote, request.method,
                         redact(request.path_qs), response.status, time * 1000)


class MalformedRequestFilter(logging.Filter):
    """On `aiohttp.server`: a request aiohttp could not parse (it already answered
    400) becomes `WARNING malformed HTTP request from <peer>: <reason>`, no traceback.
    Anything else the server logs passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            said = record.getMessage()  # aiohttp's "Error handling request from <peer>"
            peer = said.rsplit(" from ", 1)[1] if " from " in said else "?"
            reason = exc.message.strip().splitlines()[0].rstrip(":") if exc.message else type(exc).__name__
            record.msg, record.args = "malformed HTTP request from %s: %s", (peer, reason[:200])
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def quiet_malformed_requests() -> None:
    """Install the filter once (idempotent)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestFilter) for f in server_log.filters):
        server_log.addFilter(MalformedRequestFilter())
