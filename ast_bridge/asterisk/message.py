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


# header names as sent -> lower-cased: AMI uses a few hundred names, so each is
# lowered once (bounded in case a peer sends arbitrary ones)
_LOWERED: dict[str, str] = {}


def parse_message(frame: str) -> AmiMessage | None:
    """Parse one `\\r\\n`-separated frame; None when it is neither event nor response.
    Built in a plain dict (the case-insensitive `in` of AmiMessage costs a call per
    header), then wrapped: half the time of building the AmiMessage directly."""
    fields: dict[str, Any] = {}
    lowered = _LOWERED
    for line in frame.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        name = lowered.get(key)
        if name is None:
            name = key.lower()
            if len(lowered) < 4096:
                lowered[key] = name
        if name in fields:
            previous = fields[name]
            if isinstance(previous, list):
                previous.append(value)
            else:
                fields[name] = [previous, value]
        else:
            fields[name] = value
    if "event" in fields or "response" in fields:
        return AmiMessage(fields)
    return None
