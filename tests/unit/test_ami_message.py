"""The AMI parser against panoramisk's on every frame of the recorded lab streams."""

from __future__ import annotations

from pathlib import Path

from panoramisk.message import Message

from ast_bridge.asterisk.message import parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


def frames() -> list[str]:
    out = []
    for path in sorted(FIXTURES.glob("*.ami")):
        text = path.read_bytes().decode("utf-8", "replace")
        out += [f.strip() for f in text.split("\r\n\r\n") if f.strip()]
    return out


def test_same_headers_as_panoramisk_on_every_recorded_frame():
    compared = 0
    for frame in frames():
        ours, theirs = parse_message(frame), Message.from_line(frame)
        assert (ours is None) == (theirs is None), frame
        if ours is None:
            continue
        assert {k.lower(): v for k, v in theirs.items() if k != "content"} == dict(ours), frame
        compared += 1
    assert compared > 400


def test_any_case_lookups_and_repeated_headers():
    message = parse_message("Response: Success\r\nActionID: a1\r\nOutput: one\r\nOutput: two")
    assert message["ActionID"] == message.get("actionid") == "a1"
    assert "RESPONSE" in message and "missing" not in message
    assert message.get("Output") == ["one", "two"]
    assert message.get("nothing", "x") == "x"
    assert parse_message("Asterisk Call Manager/11.0.0") is None
