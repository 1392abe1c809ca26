"""Request parameters: GET query and form POST alike, names in any case.

Everything a client sends is checked here before any command sees it: the
request must decode (else 300), no value may carry control characters or be
longer than the limit (else 302 naming the parameter), and typed getters
(`number`, `url`, `call_id`, ...) refuse what Asterisk must never see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ast_bridge.http.codes import Code, OzekiError, invalid_parameter
from ast_bridge.numbers import is_dialable

_NAME_RE = re.compile(r"[A-Za-z0-9_.\[\]-]{1,64}")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")
_CALL_ID_RE = re.compile(r"[A-Za-z0-9]{1,32}")
FORM_CONTENT_TYPES = {"", "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Limits:
    max_value_length: int = 2048
    max_parameters: int = 64


def parse_pairs(raw: str, limits: Limits) -> list[tuple[str, str]]:
    """Decode `a=b&c=d` strictly as UTF-8. Raises 300 on anything undecodable."""
    if not raw:
        return []
    if "%" not in raw and "+" not in raw:
        return _split_plain(raw, limits)
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=limits.max_parameters)
    except UnicodeDecodeError:
        raise OzekiError(Code.PARSE_ERROR, "parameters are not valid UTF-8") from None
    except ValueError:
        raise OzekiError(Code.PARSE_ERROR, "too many parameters") from None
    return pairs


def _split_plain(raw: str, limits: Limits) -> list[tuple[str, str]]:
    """`parse_qsl(raw, keep_blank_values=True, ...)` for a query with nothing to
    unquote (no `%`, no `+`): the common case, where parse_qsl's pure-Python
    unquote of every name and value was a tenth of a request's CPU."""
    if raw.count("&") + 1 > limits.max_parameters:
        raise OzekiError(Code.PARSE_ERROR, "too many parameters")
    pairs = []
    for field in raw.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((name, value))
    return pairs


class Params:
    """Case-insensitive view of the request's parameters for one command."""

    def __init__(self, pairs: list[tuple[str, str]], limits: Limits, check: bool = True) -> None:
        self._values: dict[str, str] = {}
        self._pairs = pairs
        self._limits = limits
        self.command_name = ""
        for name, value in pairs:
            if not _NAME_RE.fullmatch(name):
                # a name we can neither match nor echo safely; no Ozeki parameter looks like it
                raise OzekiError(Code.PARSE_ERROR, "invalid parameter name")
            key = name.lower()
            if key in self._values and self._values[key] != value:
                raise invalid_parameter(name, self._values.get("command", ""))
            self._values[key] = value
        self.command_name = self._values.get("command", "")
        if check:
            self.check_values()

    def check_values(self) -> None:
        """302 for any value with a control character or over the length limit."""
        for key, value in self._values.items():
            if len(value) > self._limits.max_value_length or _CONTROL_RE.search(value):
                raise invalid_parameter(self._original_case(self._pairs, key), self.command_name)

    @staticmethod
    def _original_case(pairs: list[tuple[str, str]], key: str) -> str:
        return next((name for name, _ in pairs if name.lower() == key), key)

    def has(self, name: str) -> bool:
        return bool(self._values.get(name.lower(), "").strip())

    def raw(self, *names: str) -> str | None:
        """The first of `names` (aliases, misspellings) that was sent, stripped."""
        for name in names:
            value = self._values.get(name.lower())
            if value is not None and value.strip():
                return value.strip()
        return None

    # --- typed getters ----------------------------------------------------------
    def text(self, name: str, *aliases: str, required: bool = True, max_length: int = 1024) -> str | None:
        value = self.raw(name, *aliases)
        if value is None:
            if required:
                raise invalid_parameter(name, self.command_name)
            return None
        if len(value) > max_length:
            raise invalid_parameter(name, self.command_name)
        return value

    def number(self, name: str, *aliases: str, required: bool = True) -> str | None:
        """A phone number or extension; see `ast_bridge.numbers`."""
        value = self.text(name, *aliases, required=required)
        if value is not None and not is_dialable(value):
            raise invalid_parameter(name, self.command_name)
        return value

    def url(self, name: str, *aliases: str, required: bool = False) -> str | None:
        """An absolute http(s) URL the bridge may call back."""
        value = self.text(name, *aliases, required=required, max_length=2048)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            valid = False
        if not valid:
            raise invalid_parameter(name, self.command_name)
        return value

    def call_id(self, name: str = "CallId", *aliases: str, required: bool = True) -> str | None:
        value = self.text(name, *aliases, required=required, max_length=32)
        if value is not None and not _CALL_ID_RE.fullmatch(value):
            raise invalid_parameter(name, self.command_name)
        return value

    def integer(self, name: str, low: int, high: int, *, default: int | None = None,
                max_digits: int = 9) -> int | None:
        """An optional whole number in [low, high], ASCII digits only (`int()` would
        take `²` or ` 1_0`); `default` when absent."""
        value = self.raw(name)
        if value is None:
            return default
        if not re.fullmatch(f"[0-9]{{1,{max_digits}}}", value) or not low <= int(value) <= high:
            raise invalid_parameter(name, self.command_name)
        return int(value)

    def choice(self, name: str, choices: tuple[str, ...], *aliases: str, required: bool = True,
               default: str | None = None) -> str | None:
        value = self.text(name, *aliases, required=required and default is None)
        if value is None:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise invalid_parameter(name, self.command_name)
