"""One helper per AMI action the bridge uses. Commands call these; nothing else
builds AMI actions. Each helper re-checks what it is given (see `numbers`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ast_bridge.asterisk.ami import AmiActionFailed, AmiClient, AmiUnsafeValue
from ast_bridge.numbers import is_dialable

_CONTEXT_RE = re.compile(r"[A-Za-z0-9_-]{1,80}")
_CALL_ID_RE = re.compile(r"[A-Za-z0-9]{1,32}")
CALL_SETUP_ACTION_PREFIX = "astb-cs-"
# Uniqueid (and so Linkedid) of a CallSetup's first channel: the call table reads
# the CallId from it, from the very first event on
CALL_SETUP_CHANNEL_PREFIX = "astb-"


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise AmiUnsafeValue(f"refusing to send an unsafe {what} to Asterisk")


def _require_context(context: str, what: str = "context") -> None:
    _require(bool(_CONTEXT_RE.fullmatch(context)), what)


def _require_channel(channel: str) -> None:
    # a name starting with '/' would be taken by Asterisk as a regular expression
    _require(bool(channel) and not channel.startswith("/"), "channel name")


def _require_dialable(number: str, what: str = "number") -> None:
    _require(is_dialable(number), what)


@dataclass(frozen=True)
class CallSetupRequest:
    call_id: str
    caller: str
    callee: str
    caller_context: str
    callee_context: str
    ring_timeout: int


def call_setup_action_id(call_id: str) -> str:
    return CALL_SETUP_ACTION_PREFIX + call_id


def call_id_from_action_id(action_id: str) -> str | None:
    if action_id.startswith(CALL_SETUP_ACTION_PREFIX):
        return action_id[len(CALL_SETUP_ACTION_PREFIX):]
    return None


def call_setup_originate(req: CallSetupRequest) -> dict[str, str | list[str]]:
    """The Originate of a CallSetup: ring the caller through the dialplan's caller
    context; once answered, run the callee context for the callee number.
    See asterisk-conf/extensions_ast_bridge.conf for the other half of the contract."""
    _require_dialable(req.caller, "caller number")
    _require_dialable(req.callee, "callee number")
    _require_context(req.caller_context, "caller context")
    _require_context(req.callee_context, "callee context")
    _require(bool(_CALL_ID_RE.fullmatch(req.call_id)), "call id")
    return {
        "Action": "Originate",
        "ActionID": call_setup_action_id(req.call_id),
        "Channel": f"Local/{req.caller}@{req.caller_context}",
        "Context": req.callee_context,
        "Exten": req.callee,
        "Priority": "1",
        # the dialplan's Dial gives up first (NOANSWER is more telling than a timeout)
        "Timeout": str((req.ring_timeout + 5) * 1000),
        "CallerID": f'"{req.callee}" <{req.callee}>',
        "Async": "true",
        "ChannelId": CALL_SETUP_CHANNEL_PREFIX + req.call_id,
        "OtherChannelId": CALL_SETUP_CHANNEL_PREFIX + req.call_id + "-2",
        "Variable": [
            f"__AST_BRIDGE_CALLID={req.call_id}",
            f"__AST_BRIDGE_CALLER={req.caller}",
            f"__AST_BRIDGE_RING_TIMEOUT={req.ring_timeout}",
        ],
    }


async def originate_call_setup(ami: AmiClient, req: CallSetupRequest) -> None:
    """Queue the CallSetup originate; returns once Asterisk accepted it."""
    await ami.send(call_setup_originate(req))


@dataclass(frozen=True)
class AsteriskInfo:
    version: str | None
    uptime_seconds: int | None


async def asterisk_info(ami: AmiClient, timeout: float = 1.0) -> AsteriskInfo:
    settings = await ami.send({"Action": "CoreSettings"}, timeout)
    uptime = None
    output = await ami.send({"Action": "Command", "Command": "core show uptime seconds"}, timeout)
    lines = output.get("output") or output.content or ""
    if isinstance(lines, str):
        lines = lines.splitlines()
    for line in lines:
        match = re.match(r"\s*System uptime:\s*(\d+)", line)
        if match:
            uptime = int(match.group(1))
    return AsteriskInfo(settings.get("asteriskversion") or None, uptime)


async def hangup_channel(ami: AmiClient, channel: str, cause: int = 16) -> None:
    """Hang up one channel by its exact name (16: normal clearing)."""
    _require_channel(channel)
    await ami.send({"Action": "Hangup", "Channel": channel, "Cause": str(cause)})


async def hold_parties(ami: AmiClient, first: str, second: str, hold_context: str) -> None:
    """Both parties to music on hold, each remembering the other
    (asterisk-conf/extensions_ast_bridge.conf, [ast-bridge-hold])."""
    _require_channel(first)
    _require_channel(second)
    _require_context(hold_context, "hold context")
    await ami.send({"Action": "Setvar", "Channel": first, "Variable": "AST_BRIDGE_HOLD_PEER", "Value": second})
    await ami.send({"Action": "Setvar", "Channel": second, "Variable": "AST_BRIDGE_HOLD_PEER", "Value": first})
    await ami.send({"Action": "Redirect", "Channel": first, "Context": hold_context, "Exten": "s", "Priority": "1",
                    "ExtraChannel": second, "ExtraContext": hold_context, "ExtraExten": "s",
                    "ExtraPriority": "1"})


async def bridge_channels(ami: AmiClient, first: str, second: str) -> None:
    """Put two channels in one bridge (Unhold, AttendedTransfer)."""
    _require_channel(first)
    _require_channel(second)
    await ami.send({"Action": "Bridge", "Channel1": first, "Channel2": second, "Tone": "no"})


async def blind_transfer(ami: AmiClient, transferor: str, context: str, target: str) -> None:
    """The transferor's peer goes to `target` in `context`; the transferor leaves."""
    _require_channel(transferor)
    _require_dialable(target)
    _require_context(context, "transfer context")
    await ami.send({"Action": "BlindTransfer", "Channel": transferor, "Context": context, "Exten": target})


async def redirect(ami: AmiClient, channel: str, context: str, exten: str) -> None:
    _require_channel(channel)
    _require_dialable(exten)
    _require_context(context, "context")
    await ami.send({"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten, "Priority": "1"})


_RECORDING_PATH_RE = re.compile(r"(/[A-Za-z0-9_.-]+)+\.wav")


async def start_mixmonitor(ami: AmiClient, channel: str, path: str) -> None:
    """Record the channel's call, both directions mixed, into `path` (as Asterisk sees it)."""
    _require_channel(channel)
    _require(bool(_RECORDING_PATH_RE.fullmatch(path)) and ".." not in path, "recording path")
    await ami.send({"Action": "MixMonitor", "Channel": channel, "File": path})


_MEDIA_PATH_RE = re.compile(r"(/[A-Za-z0-9_.-]+)+")
PLAY_CHANNEL = "Local/play@ast-bridge-play"


async def play_to_channel(ami: AmiClient, target: str, both_sides: bool, media_path: str, *,
                          repeat: bool = False, timeout: int = 0) -> None:
    """Play a file into a call: ChanSpy on `target` whispers it to that party
    (`both_sides`: barges, so both parties hear it). See [ast-bridge-play]."""
    _require_channel(target)
    _require(bool(_MEDIA_PATH_RE.fullmatch(media_path)) and ".." not in media_path, "media path")
    await ami.send({
        "Action": "Originate", "Channel": PLAY_CHANNEL, "Application": "ChanSpy",
        "Data": f"{target},qE{'B' if both_sides else 'w'}", "Async": "true",
        "Variable": [f"AST_BRIDGE_PLAY_FILE={media_path}", f"AST_BRIDGE_PLAY_REPEAT={1 if repeat else 0}",
                     f"AST_BRIDGE_PLAY_TIMEOUT={max(0, int(timeout))}"],
    })


async def play_dtmf(ami: AmiClient, channel: str, digit: str, duration_ms: int = 200) -> None:
    """Send one DTMF digit *to* the device of `channel`."""
    _require_channel(channel)
    _require(len(digit) == 1 and digit in "0123456789*#ABCD", "DTMF digit")
    await ami.send({"Action": "PlayDTMF", "Channel": channel, "Digit": digit, "Duration": str(duration_ms)})


async def dialplan_context_exists(ami: AmiClient, context: str, timeout: float = 2.0) -> bool:
    """Whether the dialplan has `context` (Asterisk answers an error when it has not)."""
    _require_context(context, "context")
    try:
        await ami.send({"Action": "Command", "Command": f"dialplan show {context}"}, timeout)
    except AmiActionFailed:
        return False
    return True
