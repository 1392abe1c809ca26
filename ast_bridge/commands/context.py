"""What a command may use. Commands get this and validated parameters, nothing of HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from ast_bridge.asterisk.ami import AmiActionLinks, AmiClient
from ast_bridge.calls.history import CallHistory
from ast_bridge.calls.lag import LagMeter
from ast_bridge.calls.persistence import LiveCallStore
from ast_bridge.calls.recordings import Recordings
from ast_bridge.calls.setup_watch import CallSetupWatch
from ast_bridge.calls.tracker import CallTracker
from ast_bridge.media import Media
from ast_bridge.notify.outbox import Outbox
from ast_bridge.settings import Dialect, Settings
from ast_bridge.storage import Store


@dataclass
class Services:
    settings: Settings
    ami: AmiClient
    outbox: Outbox
    setups: CallSetupWatch
    tracker: CallTracker
    history: CallHistory
    store: Store
    live_calls: LiveCallStore
    recordings: Recordings
    media: Media
    lag: LagMeter
    ami_events: AmiClient  # the link the call table listens on (`ami` carries actions)
    action_links: AmiActionLinks  # `ami` first, then the links CallSetups are spread over


@dataclass(frozen=True)
class Request:
    """One API request as a command sees it."""

    command: str  # canonical command name
    dialect: Dialect
    username: str | None
