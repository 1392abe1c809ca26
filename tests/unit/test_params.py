"""Request parameters: decoding (300), per-value checks (302) and typed getters."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ast_bridge.http.codes import OzekiError
from ast_bridge.http.params import Limits, Params, parse_pairs

LIMITS = Limits()


def params(query: str, limits: Limits = LIMITS) -> Params:
    return Params(parse_pairs(query, limits), limits)


def outcome_of(excinfo: pytest.ExceptionInfo[OzekiError]) -> tuple[int, str]:
    return int(excinfo.value.outcome.code), excinfo.value.outcome.message


# --- decoding -----------------------------------------------------------------------------
def test_parse_pairs_decodes_percent_and_plus() -> None:
    assert parse_pairs("Command=CallSetup&Caller=%2B3612345&Name=J%C3%BCrgen+S&Empty=", LIMITS) == [
        ("Command", "CallSetup"), ("Caller", "+3612345"), ("Name", "J\u00fcrgen S"), ("Empty", ""),
    ]
    assert parse_pairs("", LIMITS) == []


@given(st.text(alphabet=st.sampled_from("ab=&;% +\u00e9\x00"), max_size=40))
def test_parse_pairs_is_parse_qsl_with_or_without_anything_to_unquote(query: str) -> None:
    # the shortcut for queries without `%` and `+` must answer exactly like parse_qsl
    limits = Limits(max_parameters=6)
    try:
        expected = urllib.parse.parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict",
                                          max_num_fields=limits.max_parameters)
    except (ValueError, UnicodeDecodeError):
        with pytest.raises(OzekiError):
            parse_pairs(query, limits)
        return
    assert parse_pairs(query, limits) == expected


@pytest.mark.parametrize("query", ["Caller=%FF", "Caller=%C3", "Caller=%C3%28", "Na%FFme=1", "x=%ED%A0%80"])
def test_invalid_utf8_is_300(query: str) -> None:
    with pytest.raises(OzekiError) as excinfo:
        parse_pairs(query, LIMITS)
    assert outcome_of(excinfo) == (300, "Error occured during parsing message: 'parameters are not valid UTF-8'")


def test_too_many_parameters_is_300() -> None:
    limits = Limits(max_parameters=8)
    assert len(parse_pairs("&".join(f"p{i}=1" for i in range(8)), limits)) == 8
    with pytest.raises(OzekiError) as excinfo:
        parse_pairs("&".join(f"p{i}=1" for i in range(9)), limits)
    assert outcome_of(excinfo) == (300, "Error occured during parsing message: 'too many parameters'")


@pytest.mark.parametrize("query", ["=1", "a%20b=1", "a%0Ab=1", "a:b=1", "a%3Cb%3E=1", "x" * 65 + "=1",
                                   "J%C3%BCrgen=1", "Command=X&a/b=1"])
def test_bad_names_are_300(query: str) -> None:
    with pytest.raises(OzekiError) as excinfo:
        params(query)
    assert outcome_of(excinfo) == (300, "Error occured during parsing message: 'invalid parameter name'")


def test_allowed_name_characters() -> None:
    p = params("a.b=1&c_d=2&e-f=3&g[0]=4&" + "x" * 64 + "=5")
    assert (p.raw("A.B"), p.raw("c_D"), p.raw("e-f"), p.raw("G[0]"), p.raw("X" * 64)) == ("1", "2", "3", "4", "5")


# --- names, aliases, duplicates -----------------------------------------------------------
def test_names_are_case_insensitive() -> None:
    p = params("COMMAND=CallSetup&cAlLeR=101")
    assert p.command_name == "CallSetup"
    assert p.raw("Caller") == "101"
    assert p.raw("caller") == "101"
    assert p.has("CALLER")
    assert not p.has("Callee")


def test_raw_takes_first_sent_alias_and_strips() -> None:
    p = params("Command=X&Dialed=%20102%20&Blank=+")
    assert p.raw("Callee", "Dialed", "Blank") == "102"
    assert p.raw("Blank") is None  # whitespace only counts as not sent
    assert not p.has("Blank")
    assert p.text("Callee", "Blank", "Dialed") == "102"
    assert p.number("Callee", "Dialed") == "102"


def test_identical_duplicates_are_fine() -> None:
    p = params("Command=X&Caller=101&caller=101")
    assert p.raw("Caller") == "101"


def test_conflicting_duplicates_are_302() -> None:
    with pytest.raises(OzekiError) as excinfo:
        params("Command=CallSetup&Caller=101&CALLER=102")
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'CALLER' for command 'CallSetup'")


@pytest.mark.parametrize(("query", "name"), [
    ("Command=CallSetup&CALLER=10%0D1", "CALLER"),
    ("Command=CallSetup&Caller=10%0A1", "Caller"),
    ("Command=CallSetup&callee=10%001", "callee"),
    ("Command=CallSetup&Callee=10%091", "Callee"),
    ("Command=CallSetup&Callee=10%7F1", "Callee"),
    ("Command=CallSetup&ErrorUrl=" + "a" * 2049, "ErrorUrl"),
])
def test_control_characters_and_long_values_are_302_naming_parameter(query: str, name: str) -> None:
    with pytest.raises(OzekiError) as excinfo:
        params(query)
    assert outcome_of(excinfo) == (302, f"Missing or invalid parameter '{name}' for command 'CallSetup'")


def test_value_length_limit_is_inclusive() -> None:
    assert params("Command=X&V=" + "a" * 2048).raw("v") == "a" * 2048
    small = Limits(max_value_length=64)
    with pytest.raises(OzekiError) as excinfo:
        params("Command=X&V=" + "a" * 65, small)
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'V' for command 'X'")


# --- typed getters ------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["101", "+3612345", "*72", "#1", "alice", "1" * 40, "A1b2*#"])
def test_number_accepts(value: str) -> None:
    p = Params([("Command", "CallSetup"), ("Caller", value)], LIMITS)
    assert p.number("Caller") == value


@pytest.mark.parametrize("value", ["101&PJSIP/102", "101,1", "101|x", "101/x", "101@ctx", "10 1", "${EXTEN}",
                                   "_X.", "1" * 41, "a" * 41, "++1", "1+1", "10-1", "101)", "'101'",
                                   "\u0661\u0662", "J\u00fcrgen"])
def test_number_refuses(value: str) -> None:
    p = Params([("Command", "CallSetup"), ("Caller", value)], LIMITS)
    with pytest.raises(OzekiError) as excinfo:
        p.number("Caller")
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'Caller' for command 'CallSetup'")


def test_number_missing_or_empty() -> None:
    p = Params([("Command", "CallSetup"), ("Callee", ""), ("Other", "  ")], LIMITS)
    for name in ("Caller", "Callee", "Other"):
        with pytest.raises(OzekiError) as excinfo:
            p.number(name)
        assert outcome_of(excinfo) == (302, f"Missing or invalid parameter '{name}' for command 'CallSetup'")
        assert p.number(name, required=False) is None


@pytest.mark.parametrize("value", ["http://example.com/e", "https://example.com:8443/path?a=1&b=2",
                                   "http://127.0.0.1:8080/", "HTTP://example.com", "http://[::1]:80/x"])
def test_url_accepts(value: str) -> None:
    p = Params([("Command", "CallSetup"), ("ErrorUrl", value)], LIMITS)
    assert p.url("ErrorUrl") == value


@pytest.mark.parametrize("value", ["ftp://example.com/e", "javascript:alert(1)", "http:///path", "http://:80/",
                                   "http://example.com:99999/", "http://example.com:port/",
                                   "http://exa mple.com/", "http://example.com/a b", "example.com/e",
                                   "//example.com/e", "http://[::1/"])
def test_url_refuses(value: str) -> None:
    p = Params([("Command", "CallSetup"), ("ErrorUrl", value)], LIMITS)
    with pytest.raises(OzekiError) as excinfo:
        p.url("ErrorUrl")
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'ErrorUrl' for command 'CallSetup'")


def test_url_is_optional_by_default() -> None:
    p = Params([("Command", "CallSetup")], LIMITS)
    assert p.url("ErrorUrl") is None
    with pytest.raises(OzekiError):
        p.url("ErrorUrl", required=True)


def test_url_alias() -> None:
    p = Params([("Command", "CallSetup"), ("errorurl", " http://h/e ")], LIMITS)
    assert p.url("ErrorURL", "Error_Url") == "http://h/e"


@pytest.mark.parametrize("value", ["H2Wwb", "a", "Z" * 32, "abc123XYZ"])
def test_call_id_accepts(value: str) -> None:
    p = Params([("Command", "CallHangUp"), ("callid", value)], LIMITS)
    assert p.call_id() == value


@pytest.mark.parametrize("value", ["ab-c", "ab c", "a" * 33, "ab/c", "ab.c", "\u00e4b", "${X}"])
def test_call_id_refuses(value: str) -> None:
    p = Params([("Command", "CallHangUp"), ("CallId", value)], LIMITS)
    with pytest.raises(OzekiError) as excinfo:
        p.call_id()
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'CallId' for command 'CallHangUp'")


def test_call_id_missing() -> None:
    p = Params([("Command", "CallHangUp")], LIMITS)
    with pytest.raises(OzekiError) as excinfo:
        p.call_id()
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'CallId' for command 'CallHangUp'")
    assert p.call_id(required=False) is None


def test_text_max_length() -> None:
    p = Params([("Command", "X"), ("Note", "abcd")], LIMITS)
    assert p.text("Note", max_length=4) == "abcd"
    with pytest.raises(OzekiError):
        p.text("Note", max_length=3)


def test_choice() -> None:
    p = Params([("Command", "X"), ("Mode", "BLIND")], LIMITS)
    assert p.choice("Mode", ("Blind", "Attended")) == "Blind"
    assert p.choice("Other", ("A", "B"), default="B") == "B"
    with pytest.raises(OzekiError) as excinfo:
        p.choice("Mode", ("Attended",))
    assert outcome_of(excinfo) == (302, "Missing or invalid parameter 'Mode' for command 'X'")


def test_integer_takes_ascii_digits_in_range_and_the_default_when_absent() -> None:
    p = params("Command=Play&Timeout=86400&Low=00042&Big=000086400&Sup=%C2%B2&Neg=-1")
    assert p.integer("Timeout", 0, 86400, max_digits=5) == 86400
    assert p.integer("Low", 0, 86400, max_digits=5) == 42
    assert p.integer("Absent", 0, 9, default=7) == 7 and p.integer("Absent", 0, 9) is None
    for name, digits in (("Big", 5), ("Sup", 9), ("Neg", 9)):
        with pytest.raises(OzekiError) as excinfo:
            p.integer(name, 0, 86400, max_digits=digits)
        assert outcome_of(excinfo) == (302, f"Missing or invalid parameter '{name}' for command 'Play'")
    with pytest.raises(OzekiError):
        p.integer("Timeout", 0, 86399)
