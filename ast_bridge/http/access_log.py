"""Access log without secrets: Ozeki clients put Username and Password in the
query string, so the request line is logged with those values masked."""

from __future__ import annotations

import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_SECRET_RE = re.compile(r"(?i)((?:^|[?&;])(?:password|username|secret)=)[^&]*")


def redact(path_qs: str) -> str:
    return _SECRET_RE.sub(r"\1***", path_qs)


class RedactingAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.1fms', request.remote, request.method,
                         redact(request.path_qs), response.status, time * 1000)
