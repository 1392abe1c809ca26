"""The Ozeki commands the bridge implements, by name (matched in any case)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ast_bridge.commands.call_control import (
    attended_transfer,
    blind_transfer,
    forward_call,
    hangup,
    hold,
    play,
    record,
    send_dtmf,
    speak,
    unhold,
)
from ast_bridge.commands.call_history import call_history
from ast_bridge.commands.call_lists import list_active_calls
from ast_bridge.commands.call_setup import call_setup
from ast_bridge.commands.context import Request, Services
from ast_bridge.commands.extensions import list_extension_types, list_extensions
from ast_bridge.http.codes import Outcome
from ast_bridge.http.params import Params

Handler = Callable[[Services, Request, Params], Awaitable[Outcome]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler


COMMANDS: dict[str, Command] = {}


def _register(name: str, handler: Handler, *aliases: str) -> None:
    for key in (name, *aliases):
        COMMANDS[key.lower()] = Command(name, handler)


_register("CallSetup", call_setup)
_register("ListActiveCalls", list_active_calls)
_register("Hangup", hangup)
_register("Hold", hold)
_register("Unhold", unhold)
_register("BlindTransfer", blind_transfer)
_register("AttendedTransfer", attended_transfer)
_register("ForwardCall", forward_call, "Forward")
_register("SendDTMF", send_dtmf)
_register("Record", record)
_register("Play", play)
_register("Speak", speak)
_register("ListCallHistory", call_history, "GetCallHistory")
_register("ListExtensions", list_extensions)
_register("ListExtensionTypes", list_extension_types)


def find_command(name: str) -> Command | None:
    return COMMANDS.get(name.strip().lower())
