"""Commands on a live call, addressed by its CallId (reference §5.3–5.9, §5.16).

`require_call` is the one place that answers 601 for a CallId the call table
does not know (ended calls leave the table at once); a command that makes no
sense in the call's state answers 303. AMI has no Hold: both parties are
redirected to the dialplan's music on hold (`[ast-bridge-hold]`) and Unhold
bridges them back together, which works for any two-party call on the PBX.
"""

from __future__ import annotations

import asyncio
import logging

from ast_bridge.asterisk import actions
from ast_bridge.asterisk.ami import AmiActionFailed, AmiError
from ast_bridge.calls.model import UP, Call, CallState, ChannelInfo
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.codes import Code, Outcome, OzekiError
from ast_bridge.http.params import Params
from ast_bridge.media import MediaError

log = logging.getLogger(__name__)
PARTIES = ("caller", "callee", "all")
DTMF_KEYS = set("0123456789*#ABCD")
MAX_DTMF_KEYS = 64
_BACKGROUND: set[asyncio.Task] = set()


def require_call(services: Services, params: Params, name: str = "CallId", *aliases: str) -> Call:
    call_id = params.call_id(name, *aliases)
    assert call_id is not None
    call = services.tracker.get(call_id)
    if call is None:
        raise OzekiError(Code.CALL_NOT_FOUND, call_id)
    return call


def not_here(request: Request) -> OzekiError:
    return OzekiError(Code.INAPPROPRIATE_COMMAND, request.command)


def parties(call: Call) -> tuple[ChannelInfo, ChannelInfo] | None:
    """(caller's channel, callee's channel) of a two-party call, Local channels aside."""
    phones = [c for c in call.channels.values() if not c.is_local]
    if len(phones) != 2:
        return None
    first, second = phones
    if second.caller_num == call.source and first.caller_num != call.source:
        first, second = second, first
    return first, second


def talking_parties(call: Call, request: Request) -> tuple[ChannelInfo, ChannelInfo]:
    found = parties(call)
    if found is None or any(c.state != UP for c in found):
        raise not_here(request)
    return found


async def _ami(request: Request, action) -> None:
    """Run AMI steps; Asterisk refusing (or being away) is 303 for the client."""
    try:
        await action
    except AmiError as exc:
        log.warning("%s failed: %s", request.command, exc)
        raise not_here(request) from None


async def hangup(services: Services, request: Request, params: Params) -> Outcome:
    """Ends the whole call: every channel of it is hung up."""
    call = require_call(services, params)
    names = [channel.name for channel in call.channels.values()]
    results = await asyncio.gather(*(actions.hangup_channel(services.ami, name) for name in names),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, AmiError) and not isinstance(r, AmiActionFailed)]
    # AmiActionFailed: that channel was already gone (the others' hangup took it along)
    if failures and len(failures) == len(names):
        log.warning("Hangup %s failed: %s", call.call_id, failures[0])
        raise not_here(request)
    return Outcome()


async def hold(services: Services, request: Request, params: Params) -> Outcome:
    call = require_call(services, params)
    if call.state is not CallState.IN_CALL:
        raise not_here(request)
    caller, callee = talking_parties(call, request)
    await _ami(request, actions.hold_parties(services.ami, caller.name, callee.name,
                                             services.settings.hold_context))
    return Outcome()


async def unhold(services: Services, request: Request, params: Params) -> Outcome:
    call = require_call(services, params)
    if call.state is not CallState.HOLD:
        raise not_here(request)
    caller, callee = talking_parties(call, request)
    await _ami(request, actions.bridge_channels(services.ami, caller.name, callee.name))
    return Outcome()


async def blind_transfer(services: Services, request: Request, params: Params) -> Outcome:
    """The transferor's party leaves; the other party is sent to `Target`."""
    call = require_call(services, params)
    transferor = params.choice("TransferorParty", ("caller", "callee"), "TranferorParty")
    target = params.number("Target")
    assert target is not None
    if call.state is not CallState.IN_CALL:
        raise not_here(request)
    caller, callee = talking_parties(call, request)
    channel = caller if transferor == "caller" else callee
    await _ami(request, actions.blind_transfer(services.ami, channel.name, services.settings.transfer_context,
                                               target))
    return Outcome()


async def forward_call(services: Services, request: Request, params: Params) -> Outcome:
    """A call still ringing goes to `Destination` instead: the channel that is
    dialling is moved, so whoever rang stops ringing."""
    call = require_call(services, params)
    destination = params.number("Destination")
    assert destination is not None
    dialer = call.channels.get(call.dialer)
    if call.state is not CallState.RINGING or dialer is None:
        raise not_here(request)
    await _ami(request, actions.redirect(services.ami, dialer.name, services.settings.transfer_context,
                                         destination))
    return Outcome()


async def attended_transfer(services: Services, request: Request, params: Params) -> Outcome:
    """Joins the other party of `TransferredCallId` with the other party of
    `TargetCallId` and drops the transferor (the party the two calls share)."""
    transferred = require_call(services, params, "TransferredCallId", "TranferredCallId")
    target = require_call(services, params, "TargetCallId")
    if transferred is target:
        raise not_here(request)
    first, second = talking_parties(transferred, request), talking_parties(target, request)
    shared = {c.caller_num for c in first} & {c.caller_num for c in second}
    party = (params.choice("TransferorParty", ("caller", "callee"), "TranferorParty", required=False) or "")
    if party:
        transferor_num = (first[0] if party == "caller" else first[1]).caller_num
    elif len(shared) == 1:
        transferor_num = shared.pop()
    else:
        raise not_here(request)
    keep_a = [c for c in first if c.caller_num != transferor_num]
    keep_b = [c for c in second if c.caller_num != transferor_num]
    drop = [c for c in (*first, *second) if c.caller_num == transferor_num]
    if len(keep_a) != 1 or len(keep_b) != 1:
        raise not_here(request)
    await _ami(request, actions.bridge_channels(services.ami, keep_a[0].name, keep_b[0].name))
    # one conversation now: the target call's party joins the transferred call
    services.tracker.merge(target, transferred)
    for channel in drop:
        try:
            await actions.hangup_channel(services.ami, channel.name)
        except AmiActionFailed:
            pass  # already gone with its bridge
    return Outcome()


async def send_dtmf(services: Services, request: Request, params: Params) -> Outcome:
    """Sends `Keys` to the chosen party's phone, in order, one every 250 ms."""
    call = require_call(services, params)
    party = params.choice("Party", PARTIES)
    keys = params.text("Keys", "Digits", max_length=MAX_DTMF_KEYS)
    assert keys is not None
    if not set(keys) <= DTMF_KEYS:
        raise OzekiError(Code.INVALID_PARAMETER, "Keys", request.command)
    caller, callee = talking_parties(call, request)
    targets = [caller] if party == "caller" else [callee] if party == "callee" else [caller, callee]
    await _ami(request, actions.play_dtmf(services.ami, targets[0].name, keys[0]))
    task = asyncio.create_task(_rest_of_dtmf(services, [t.name for t in targets], keys))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    return Outcome()


async def _rest_of_dtmf(services: Services, channels: list[str], keys: str) -> None:
    """Every key to every channel but the first key to the first channel (sent
    before the answer), one key every 250 ms."""
    try:
        for index, key in enumerate(keys):
            for position, channel in enumerate(channels):
                if index == 0 and position == 0:
                    continue
                await actions.play_dtmf(services.ami, channel, key)
            await asyncio.sleep(0.25)
    except AmiError as exc:
        log.warning("SendDTMF stopped: %s", exc)


async def record(services: Services, request: Request, params: Params) -> Outcome:
    """Records the call (both directions mixed) until it ends; `RecordCompleted`
    with `RecordURL` goes to `FinishedUrl` (also `FinishedURL`)."""
    call = require_call(services, params)
    fmt = params.choice("Format", ("mp3", "wav"), required=False, default="mp3")
    finished_url = params.url("FinishedUrl")
    phones = [c for c in call.channels.values() if not c.is_local and c.state == UP]
    if not phones:
        raise not_here(request)
    # the caller's channel when there is one: it stays for the whole call
    channel = next((c for c in phones if c.caller_num == call.source), phones[0])
    await _ami(request, services.recordings.start(call, channel, fmt or "mp3", finished_url))
    return Outcome()


def _play_target(call: Call, request: Request, party: str) -> ChannelInfo:
    """The channel ChanSpy attaches to (for `all` it barges in on both from there);
    checked before any audio is prepared."""
    caller, callee = talking_parties(call, request)
    return callee if party == "callee" else caller


async def _play(services: Services, request: Request, target: ChannelInfo, party: str, media_path: str,
                repeat: bool = False, timeout: int = 0) -> Outcome:
    await _ami(request, actions.play_to_channel(services.ami, target.name, party == "all", media_path,
                                                repeat=repeat, timeout=timeout))
    return Outcome()


async def _media(request: Request, source) -> str:
    try:
        return await source
    except MediaError as error:
        raise OzekiError(Code.INVALID_PARAMETER, error.parameter, request.command) from None


async def play(services: Services, request: Request, params: Params) -> Outcome:
    """Plays `AudioFile` (a file of the sound folder, or an http(s) URL) to
    `Party`: `caller`, `callee` or `all`."""
    call = require_call(services, params)
    party = params.choice("Party", PARTIES)
    audio = params.text("AudioFile", max_length=2048)
    repeat = params.choice("Repeat", ("true", "false"), required=False, default="false") == "true"
    timeout = params.integer("Timeout", 0, 86400, max_digits=5)
    assert audio is not None and party is not None
    target = _play_target(call, request, party)
    if audio.lower().startswith(("http://", "https://")):
        url = params.url("AudioFile")
        assert url is not None
        path = await _media(request, services.media.from_url(url))
    else:
        path = await _media(request, services.media.from_sound_folder(audio))
    return await _play(services, request, target, party, path, repeat=repeat,
                       timeout=timeout if timeout is not None else (300 if repeat else 0))


async def speak(services: Services, request: Request, params: Params) -> Outcome:
    """Says `Text` (espeak-ng, voice from `Language` or `Voice`) to `Party`
    (`all` when not given, as in Ozeki 10)."""
    call = require_call(services, params)
    party = params.choice("Party", PARTIES, required=False, default="all")
    text = params.text("Text", max_length=2000)
    voice = (params.text("Voice", "Language", required=False, max_length=40)
             or services.settings.tts_voice).replace("_", "-").lower()
    assert text is not None and party is not None
    target = _play_target(call, request, party)
    path = await _media(request, services.media.from_text(text, voice))
    return await _play(services, request, target, party, path)
