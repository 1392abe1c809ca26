"""What a command may use. Commands get this and validated parameters, nothing of HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from ast_bridge.asterisk.ami import AmiClient
from ast_bridge.calls.setup_watch import CallSetupWatch
from ast_bridge.calls.tracker import CallTracker
from ast_bridge.notify.webhook import WebhookSender
from ast_bridge.settings import Dialect, Settings


@dataclass
class Services:
    settings: Settings
    ami: AmiClient
    webhooks: WebhookSender
    setups: CallSetupWatch
    tracker: CallTracker


@dataclass(frozen=True)
class Request:
    """One API request as a command sees it."""

    command: str  # canonical command name
    dialect: Dialect
    username: str | None
