"""CallSetup: ring `Caller`; when it answers, dial `Callee` showing `Caller` as caller ID.

Answers as soon as Asterisk accepted the call (asynchronous Originate), with the
new call's `<CallId>`; later failures go to `ErrorUrl` (see calls/setup_watch.py).
"""

from __future__ import annotations

import logging

from ast_bridge.asterisk.actions import CallSetupRequest, originate_call_setup
from ast_bridge.asterisk.ami import AmiActionFailed, AmiTimeout, AmiUnavailable
from ast_bridge.calls.ids import new_call_id
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.codes import Code, Outcome, OzekiError
from ast_bridge.http.params import Params

log = logging.getLogger(__name__)

# result states for 402 "Call connect to '{0}' failed with result state '{1}'"
STATE_PBX_UNAVAILABLE = "PbxUnavailable"
STATE_PBX_TIMEOUT = "PbxTimeout"
STATE_REJECTED = "Rejected"


async def call_setup(services: Services, request: Request, params: Params) -> Outcome:
    caller = params.number("Caller")
    callee = params.number("Callee")
    error_url = params.url("ErrorUrl")
    assert caller is not None and callee is not None
    settings = services.settings
    call_id = new_call_id()
    services.setups.register(call_id, caller, callee, error_url)
    services.tracker.expect_call_setup(call_id, caller, callee)
    services.live_calls.expect_call_setup(call_id, caller, callee)
    try:
        # CallSetups do not depend on each other's order: any action link will do
        await originate_call_setup(services.action_links.pick(), CallSetupRequest(
            call_id=call_id, caller=caller, callee=callee,
            caller_context=settings.caller_context, callee_context=settings.callee_context,
            ring_timeout=settings.ring_timeout,
        ))
    except (AmiUnavailable, AmiTimeout, AmiActionFailed) as exc:
        services.setups.forget(call_id)
        state = {AmiUnavailable: STATE_PBX_UNAVAILABLE, AmiTimeout: STATE_PBX_TIMEOUT}.get(
            type(exc), STATE_REJECTED)
        log.warning("CallSetup %s->%s not accepted by Asterisk: %s", caller, callee, exc)
        raise OzekiError(Code.CALL_CONNECT_FAILED, caller, state) from None
    # DEBUG: the access log has the request and the call history the CallId with its
    # numbers; a second INFO line per call was a quarter of the handler's CPU
    log.debug("CallSetup %s: %s -> %s queued", call_id, caller, callee)
    return Outcome(payload=(("CallId", call_id),))
