"""One AMI message (response or event), parsed fast.

panoramisk's `Message.from_line` builds a case-insensitive dict key by key; at a
thousand calls a second it was a quarter of the bridge's CPU (measured with
py-spy under `make bench`). This parser does the same job with one split and a
plain dict of lower-cased keys, and behaves like panoramisk's `Message` for
everything the bridge uses (`get`, `[]`, `in`, any case), so handlers and tests
may be fed either.
"""

from __future__ import annotations

from typing import Any


class AmiMessage(dict):
    """Headers by lower-cased name; a repeated header becomes a list."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    @property
    def content(self) -> str:
        return ""


def parse_message(frame: str) -> AmiMessage | None:
    """Parse one `\\r\\n`-separated frame; None when it is neither event nor response."""
    message = AmiMessage()
    for line in frame.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        key = key.lower()
        if key in message:
            previous = dict.__getitem__(message, key)
            if isinstance(previous, list):
                previous.append(value)
            else:
                dict.__setitem__(message, key, [previous, value])
        else:
            dict.__setitem__(message, key, value)
    if "event" in message or "response" in message:
        return message
    return None
