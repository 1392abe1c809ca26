"""Ozeki status codes and their message templates, word for word (typos included:
Ozeki's clients may match on them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from ast_bridge.http.ozeki_xml import Node


class Code(IntEnum):
    OK = 200
    PARSE_ERROR = 300
    NOT_IMPLEMENTED_COMMAND = 301
    INVALID_PARAMETER = 302
    INAPPROPRIATE_COMMAND = 303
    AUTHENTICATION_REQUIRED = 304
    AUTHENTICATION_FAILED = 305
    FORBIDDEN_USER = 306
    FORBIDDEN_ADDRESS = 307
    API_EXTENSION_UNAVAILABLE = 401
    CALL_CONNECT_FAILED = 402
    SMS_DESTINATION_NOT_FOUND = 501
    CALL_NOT_FOUND = 601


MESSAGES: dict[Code, str] = {
    Code.OK: "Command successfully executed",
    Code.PARSE_ERROR: "Error occured during parsing message: '{0}'",
    Code.NOT_IMPLEMENTED_COMMAND: "Not implemented command: '{0}'",
    Code.INVALID_PARAMETER: "Missing or invalid parameter '{0}' for command '{1}'",
    Code.INAPPROPRIATE_COMMAND: "Command '{0}' cannot be used here",
    Code.AUTHENTICATION_REQUIRED: "Authentication required",
    Code.AUTHENTICATION_FAILED: "Authentication failed, bad username or password",
    Code.FORBIDDEN_USER: "User is not allowed to use API in ACL",
    Code.FORBIDDEN_ADDRESS: "Use API from this address is forbidden",
    Code.API_EXTENSION_UNAVAILABLE: "API extension '{0}' unavailable, please check configuration or permissions",
    Code.CALL_CONNECT_FAILED: "Call connect to '{0}' failed with result state '{1}'",
    Code.SMS_DESTINATION_NOT_FOUND: "Destination of the SMS is not found",
    Code.CALL_NOT_FOUND: "Call not found with ID '{0}'",
}


@dataclass(frozen=True)
class Outcome:
    """What a command produced: a code, the values for its message, a payload."""

    code: Code = Code.OK
    args: tuple[str, ...] = ()
    payload: tuple[Node, ...] = field(default=())

    @property
    def message(self) -> str:
        return MESSAGES[self.code].format(*self.args)


class OzekiError(Exception):
    """Raised anywhere below a handler to answer with an Ozeki error code."""

    def __init__(self, code: Code, *args: str) -> None:
        super().__init__(MESSAGES[code].format(*args))
        self.outcome = Outcome(code, tuple(str(a) for a in args))


def invalid_parameter(name: str, command: str) -> OzekiError:
    return OzekiError(Code.INVALID_PARAMETER, name, command)
