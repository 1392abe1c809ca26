"""How far the call table runs behind Asterisk: each event's `Timestamp`
(manager.conf `timestampevents = yes`) against the moment the table took it."""

from __future__ import annotations

import time
from collections import deque

from ast_bridge.asterisk.message import AmiMessage as Message


class LagMeter:
    def __init__(self, window: int = 20_000) -> None:
        self._lags: deque[float] = deque(maxlen=window)

    def observe(self, event: Message) -> None:
        stamp = event.get("timestamp")
        if stamp:
            try:
                self._lags.append(time.time() - float(stamp))
            except ValueError:
                pass

    def summary(self) -> dict[str, float | None]:
        if not self._lags:
            return {"lag_ms_p50": None, "lag_ms_p99": None, "lag_ms_max": None}
        ordered = sorted(self._lags)
        at = lambda q: ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] * 1000  # noqa: E731
        return {"lag_ms_p50": round(at(0.5), 3), "lag_ms_p99": round(at(0.99), 3),
                "lag_ms_max": round(ordered[-1] * 1000, 3)}
