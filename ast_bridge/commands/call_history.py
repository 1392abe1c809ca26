"""ListCallHistory (Ozeki 10) and GetCallHistory (XE): ended calls with filters and paging."""

from __future__ import annotations

from datetime import datetime

from ast_bridge.calls.history import FILTER_COLUMNS, HistoryQuery, HistoryRow
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.codes import Outcome, invalid_parameter
from ast_bridge.http.ozeki_xml import Node
from ast_bridge.http.params import Params
from ast_bridge.ozeki_time import o10_duration, o10_time
from ast_bridge.settings import Dialect

MAX_ROWS_PER_PAGE = 1000


def parse_query(params: Params) -> HistoryQuery:
    filters = {}
    for name in FILTER_COLUMNS:
        value = params.text(name, required=False, max_length=128)
        if value is not None:
            filters[name] = value
    since = None
    raw_from = params.raw("From")
    if raw_from is not None:
        try:
            since = datetime.strptime(raw_from, "%Y-%m-%d %H:%M:%S").timestamp()
        except ValueError:
            raise invalid_parameter("From", params.command_name) from None
    return HistoryQuery(
        filters=filters,
        since=since,
        general=params.text("General", required=False, max_length=128),
        page=params.integer("PageNumber", 0, 10_000_000, default=0) or 0,
        rows_per_page=params.integer("RowsPerPage", 1, MAX_ROWS_PER_PAGE, default=20) or 20,
    )


def history_call(row: HistoryRow) -> Node:
    return ("Call", (
        ("StartTime", o10_time(row.start_time)),
        ("Direction", row.direction),
        ("Source", row.source),
        ("Destination", row.destination),
        ("State", row.state),
        ("Dialed", row.dialed),
        ("CallerId", row.caller_id),
        ("Type", row.type),
        ("CallId", row.call_id),
        # not in Ozeki's record: the call's durations, after Ozeki's fields (docs/api.md)
        ("RingDuration", o10_duration(row.ring_duration)),
        ("TalkDuration", o10_duration(row.talk_duration)),
    ))


async def call_history(services: Services, request: Request, params: Params) -> Outcome:
    total, rows = await services.history.search(parse_query(params))
    calls = tuple(history_call(row) for row in rows)
    if request.dialect is Dialect.XE:
        return Outcome(payload=(("NumberOfCalls", total), ("Calls", calls)))
    return Outcome(payload=(("TotalRecords", total), ("CallHistory", calls)))
