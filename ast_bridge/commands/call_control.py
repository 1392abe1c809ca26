"""Commands on a live call, addressed by its CallId (reference §5.7).

`require_call` is the one place that answers 601 for a CallId the call table
does not know (ended calls leave the table at once)."""

from __future__ import annotations

import asyncio
import logging

from ast_bridge.asterisk.actions import hangup_channel
from ast_bridge.asterisk.ami import AmiActionFailed, AmiError
from ast_bridge.calls.model import Call
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.codes import Code, Outcome, OzekiError
from ast_bridge.http.params import Params

log = logging.getLogger(__name__)


def require_call(services: Services, params: Params, name: str = "CallId") -> Call:
    call_id = params.call_id(name)
    assert call_id is not None
    call = services.tracker.get(call_id)
    if call is None:
        raise OzekiError(Code.CALL_NOT_FOUND, call_id)
    return call


async def hangup(services: Services, request: Request, params: Params) -> Outcome:
    """Ends the whole call: every channel of it is hung up."""
    call = require_call(services, params)
    names = [channel.name for channel in call.channels.values()]
    results = await asyncio.gather(*(hangup_channel(services.ami, name) for name in names),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, AmiError) and not isinstance(r, AmiActionFailed)]
    # AmiActionFailed: that channel was already gone (the others' hangup took it along)
    if failures and len(failures) == len(names):
        log.warning("Hangup %s failed: %s", call.call_id, failures[0])
        raise OzekiError(Code.INAPPROPRIATE_COMMAND, request.command)
    return Outcome()
