"""Ozeki's response document, byte for byte.

Ozeki's server is .NET and serialises its answers with XmlSerializer: a bare
`<?xml version="1.0"?>` prolog, `xmlns:xsi` then `xmlns:xsd` on `<Response>`,
two-space indentation, Windows line ends (CRLF), and empty elements written as
`<Name />`. `Code` and `Message` come first, then the payload.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
NEWLINE = "\r\n"
PROLOG = '<?xml version="1.0"?>'
OPEN = f'<Response xmlns:xsi="{XSI}" xmlns:xsd="{XSD}">'

# Characters XML 1.0 cannot carry at all; they are replaced, never emitted.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Value = str | int | float | None | Sequence["Node"]
Node = tuple[str, Value]


def text(value: object) -> str:
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _render_node(name: str, value: Value, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    if value is None:
        out.append(f"{pad}<{name} />")
    elif isinstance(value, (str, int, float)):
        rendered = text(value)
        out.append(f"{pad}<{name}>{rendered}</{name}>" if rendered else f"{pad}<{name} />")
    else:
        children = list(value)
        if not children:
            out.append(f"{pad}<{name} />")
            return
        out.append(f"{pad}<{name}>")
        for child_name, child_value in children:
            _render_node(child_name, child_value, depth + 1, out)
        out.append(f"{pad}</{name}>")


def render_response(code: int, message: str, payload: Sequence[Node] = ()) -> bytes:
    out = [PROLOG, OPEN, f"  <Code>{code}</Code>", f"  <Message>{text(message)}</Message>"]
    for name, value in payload:
        _render_node(name, value, 1, out)
    out.append("</Response>")
    return NEWLINE.join(out).encode("utf-8")
