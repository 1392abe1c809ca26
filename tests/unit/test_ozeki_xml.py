"""render_response must reproduce Ozeki's (.NET XmlSerializer) document byte for byte."""

from __future__ import annotations

import pytest

from ast_bridge.http.ozeki_xml import render_response

try:  # defusedxml when available, the standard library parser otherwise
    from defusedxml.ElementTree import fromstring
except ImportError:  # pragma: no cover - depends on the environment
    from xml.etree.ElementTree import fromstring

HEAD = (
    b'<?xml version="1.0"?>\r\n'
    b'<Response xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    b'xmlns:xsd="http://www.w3.org/2001/XMLSchema">\r\n'
)


def test_ok_without_payload_exact_bytes() -> None:
    body = render_response(200, "Command successfully executed")
    assert body == (
        HEAD
        + b"  <Code>200</Code>\r\n"
        + b"  <Message>Command successfully executed</Message>\r\n"
        + b"</Response>"
    )


def test_ok_with_call_id_payload_exact_bytes() -> None:
    body = render_response(200, "Command successfully executed", (("CallId", "H2Wwb"),))
    assert body == (
        HEAD
        + b"  <Code>200</Code>\r\n"
        + b"  <Message>Command successfully executed</Message>\r\n"
        + b"  <CallId>H2Wwb</CallId>\r\n"
        + b"</Response>"
    )


def test_prolog_namespaces_order_and_line_ends() -> None:
    body = render_response(601, "Call not found with ID 'x'")
    text = body.decode("utf-8")
    assert text.startswith('<?xml version="1.0"?>\r\n')
    assert text.index("xmlns:xsi=") < text.index("xmlns:xsd=")
    # every line break is CRLF, no bare LF anywhere, no trailing newline
    assert "\n" not in text.replace("\r\n", "")
    assert not text.endswith("\r\n")
    assert text.split("\r\n")[2] == "  <Code>601</Code>"


def test_markup_characters_are_escaped() -> None:
    body = render_response(300, "Error occured during parsing message: 'a<b & c>d'",
                           (("Note", "<x>&amp;</x>"),))
    lines = body.split(b"\r\n")
    assert lines[3] == b"  <Message>Error occured during parsing message: 'a&lt;b &amp; c&gt;d'</Message>"
    assert lines[4] == b"  <Note>&lt;x&gt;&amp;amp;&lt;/x&gt;</Note>"
    root = fromstring(body)
    assert root.findtext("Message") == "Error occured during parsing message: 'a<b & c>d'"
    assert root.findtext("Note") == "<x>&amp;</x>"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ufffe", "\uffff"])
def test_xml_illegal_characters_are_replaced(char: str) -> None:
    body = render_response(300, f"a{char}b", (("Value", f"x{char}"),))
    lines = body.decode("utf-8").split("\r\n")
    assert lines[3] == "  <Message>a\ufffdb</Message>"
    assert lines[4] == "  <Value>x\ufffd</Value>"
    assert char.encode("utf-8") not in body
    root = fromstring(body)  # well-formed despite the input
    assert root.findtext("Message") == "a\ufffdb"


def test_tab_and_non_ascii_are_kept() -> None:
    body = render_response(200, "ok", (("Name", "J\u00fcrgen\t\u0160\u0165astn\u00fd"),))
    assert "  <Name>J\u00fcrgen\t\u0160\u0165astn\u00fd</Name>".encode() in body
    assert fromstring(body).findtext("Name") == "J\u00fcrgen\t\u0160\u0165astn\u00fd"


@pytest.mark.parametrize("empty", [[], (), None, ""])
def test_empty_values_are_self_closing(empty: object) -> None:
    body = render_response(200, "Command successfully executed", (("Calls", empty),))
    assert body.split(b"\r\n")[4] == b"  <Calls />"
    assert fromstring(body).find("Calls") is not None


def test_numbers_are_rendered_as_text() -> None:
    body = render_response(200, "ok", (("Count", 0), ("Ratio", 1.5)))
    lines = body.split(b"\r\n")
    assert lines[4:6] == [b"  <Count>0</Count>", b"  <Ratio>1.5</Ratio>"]


def test_nested_lists_exact_bytes() -> None:
    payload = (
        ("Calls", [
            ("Call", [("CallId", "a1"), ("State", "Ringing"), ("Parties", [("Party", "101"), ("Party", "102")])]),
            ("Call", []),
        ]),
        ("Total", 2),
    )
    body = render_response(200, "Command successfully executed", payload)
    assert body == (
        HEAD
        + b"  <Code>200</Code>\r\n"
        + b"  <Message>Command successfully executed</Message>\r\n"
        + b"  <Calls>\r\n"
        + b"    <Call>\r\n"
        + b"      <CallId>a1</CallId>\r\n"
        + b"      <State>Ringing</State>\r\n"
        + b"      <Parties>\r\n"
        + b"        <Party>101</Party>\r\n"
        + b"        <Party>102</Party>\r\n"
        + b"      </Parties>\r\n"
        + b"    </Call>\r\n"
        + b"    <Call />\r\n"
        + b"  </Calls>\r\n"
        + b"  <Total>2</Total>\r\n"
        + b"</Response>"
    )
    root = fromstring(body)
    assert root.tag == "Response"
    calls = root.find("Calls")
    assert [c.tag for c in calls] == ["Call", "Call"]
    assert [p.text for p in calls[0].find("Parties")] == ["101", "102"]
    assert root.findtext("Code") == "200"


def test_lone_surrogate_is_replaced_not_a_crash() -> None:
    body = render_response(300, "a\ud800b")
    assert body.split(b"\r\n")[3] == "  <Message>a\ufffdb</Message>".encode()
