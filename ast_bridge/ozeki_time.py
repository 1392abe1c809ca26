"""Ozeki's date and duration formats (reference §5.10)."""

from __future__ import annotations

from datetime import datetime


def o10_time(timestamp: float) -> str:
    """Ozeki 10: `2019-04-09 10:34:07` (local time, no zone)."""
    # naive local time already has the fields; attaching the zone (astimezone) only
    # cost time, a visible share of each notification
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def xe_time(timestamp: float) -> str:
    """Ozeki XE, as .NET writes a DateTime: `2013-07-01T10:49:07.9558+02:00`
    (local time, fraction up to 7 digits without trailing zeros, UTC offset)."""
    moment = datetime.fromtimestamp(timestamp).astimezone()
    fraction = f"{moment.microsecond:06d}0".rstrip("0")
    offset = moment.strftime("%z")
    return (moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "")
            + f"{offset[:3]}:{offset[3:]}")


def o10_duration(seconds: float) -> str:
    """Ozeki 10: seconds with three decimals (`0.749`)."""
    return f"{seconds:.3f}"


def xe_duration(seconds: float) -> int:
    """Ozeki XE: whole seconds."""
    return int(seconds)
