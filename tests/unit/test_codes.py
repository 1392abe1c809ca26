"""Ozeki's status codes and message templates, word for word (typos included)."""

from __future__ import annotations

import pytest

from ast_bridge.http.codes import MESSAGES, Code, Outcome, OzekiError, invalid_parameter

TABLE = {
    200: "Command successfully executed",
    300: "Error occured during parsing message: '{0}'",
    301: "Not implemented command: '{0}'",
    302: "Missing or invalid parameter '{0}' for command '{1}'",
    303: "Command '{0}' cannot be used here",
    304: "Authentication required",
    305: "Authentication failed, bad username or password",
    306: "User is not allowed to use API in ACL",
    307: "Use API from this address is forbidden",
    601: "Call not found with ID '{0}'",
    402: "Call connect to '{0}' failed with result state '{1}'",
}


@pytest.mark.parametrize(("number", "template"), sorted(TABLE.items()))
def test_message_template_word_for_word(number: int, template: str) -> None:
    assert MESSAGES[Code(number)] == template


def test_code_names() -> None:
    assert (Code.OK, Code.PARSE_ERROR, Code.NOT_IMPLEMENTED_COMMAND, Code.INVALID_PARAMETER,
            Code.INAPPROPRIATE_COMMAND, Code.AUTHENTICATION_REQUIRED, Code.AUTHENTICATION_FAILED,
            Code.FORBIDDEN_USER, Code.FORBIDDEN_ADDRESS, Code.CALL_CONNECT_FAILED,
            Code.CALL_NOT_FOUND) == (200, 300, 301, 302, 303, 304, 305, 306, 307, 402, 601)


def test_every_code_has_a_message() -> None:
    assert set(MESSAGES) == set(Code)


def test_outcome_formats_its_message() -> None:
    assert Outcome().message == "Command successfully executed"
    assert Outcome(Code.CALL_CONNECT_FAILED, ("101", "Busy")).message == \
        "Call connect to '101' failed with result state 'Busy'"


def test_ozeki_error_carries_outcome() -> None:
    error = OzekiError(Code.CALL_NOT_FOUND, "H2Wwb")
    assert str(error) == "Call not found with ID 'H2Wwb'"
    assert error.outcome == Outcome(Code.CALL_NOT_FOUND, ("H2Wwb",))
    assert error.outcome.payload == ()


def test_invalid_parameter_helper() -> None:
    error = invalid_parameter("Caller", "CallSetup")
    assert error.outcome.code is Code.INVALID_PARAMETER
    assert error.outcome.message == "Missing or invalid parameter 'Caller' for command 'CallSetup'"
