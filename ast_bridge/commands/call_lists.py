"""ListActiveCalls: the live call table in the listener's dialect (reference §5.10)."""

from __future__ import annotations

import time

from ast_bridge.calls.model import Call
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.codes import Outcome
from ast_bridge.http.ozeki_xml import Node
from ast_bridge.http.params import Params
from ast_bridge.ozeki_time import o10_duration, o10_time, xe_duration, xe_time
from ast_bridge.settings import Dialect


def o10_call(call: Call, now: float) -> Node:
    return ("Call", (
        ("CallId", call.call_id),
        ("Source", call.source),
        ("CallerId", call.caller_id),
        ("Destination", call.destination),
        ("CallerDialed", call.destination),
        ("CalleeDialed", call.destination),
        ("StartTime", o10_time(call.start_time)),
        ("RingDuration", o10_duration(call.ring_duration(now))),
        ("TalkDuration", o10_duration(call.talk_duration(now))),
        ("CallState", call.state.value),
    ))


def xe_call(call: Call, now: float) -> Node:
    return ("CallInfo", (
        ("CallState", call.state.value),
        ("CallId", call.call_id),
        ("Source", call.source),
        ("CallerId", call.caller_id),
        ("Destination", call.destination),
        ("StartTime", xe_time(call.start_time)),
        ("RingDuration", xe_duration(call.ring_duration(now))),
        ("TalkDuration", xe_duration(call.talk_duration(now))),
    ))


async def list_active_calls(services: Services, request: Request, params: Params) -> Outcome:
    now = time.time()
    render = xe_call if request.dialect is Dialect.XE else o10_call
    calls = tuple(render(call, now) for call in services.tracker.active())
    return Outcome(payload=(("ActiveCalls", calls),))
