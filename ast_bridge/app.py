"""Assembles the bridge: services with their life cycles, the HTTP application,
and the listeners. Resources are opened and closed in order by aiohttp's
cleanup contexts."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator

from aiohttp import web

from ast_bridge.asterisk.ami import AmiActionLinks, AmiClient
from ast_bridge.calls.history import CallHistory
from ast_bridge.calls.lag import LagMeter
from ast_bridge.calls.persistence import LiveCallStore
from ast_bridge.calls.recordings import Recordings
from ast_bridge.calls.setup_watch import CallSetupWatch
from ast_bridge.calls.tracker import EVENTS, CallTracker
from ast_bridge.commands.context import Services
from ast_bridge.http.access_log import RedactingAccessLogger, quiet_malformed_requests
from ast_bridge.http.auth import Authenticator
from ast_bridge.http.params import Limits
from ast_bridge.http.recordings import handle_recording
from ast_bridge.http.routes import AUTH, LIMITS, SERVICES, add_routes
from ast_bridge.http.status import STARTED, handle_status
from ast_bridge.media import Media
from ast_bridge.notify.call_events import CallEventNotifier
from ast_bridge.notify.outbox import Outbox
from ast_bridge.settings import Settings
from ast_bridge.storage import Store

log = logging.getLogger(__name__)


def _ami_client(settings: Settings, events: str) -> AmiClient:
    return AmiClient(
        settings.ami_host, settings.ami_port, settings.ami_username, settings.ami_secret,
        connect_timeout=settings.ami_connect_timeout, action_timeout=settings.ami_action_timeout,
        ping_interval=settings.ami_ping_interval, ping_timeout=settings.ami_ping_timeout,
        reconnect_min=settings.ami_reconnect_min, reconnect_max=settings.ami_reconnect_max, events=events,
    )


def build_services(settings: Settings) -> Services:
    # Separate AMI links for actions and events: Asterisk answers a session's actions
    # in turn with the events it owes that session, so on one busy link an Originate's
    # answer would wait behind the event stream. Actions go on links without call
    # events (CallSetup's Originates spread over `ami_action_links` of them, `ami`
    # first); the call table and everything else that listens reads the event link.
    ami = _ami_client(settings, events="system")
    action_links = AmiActionLinks([ami] + [_ami_client(settings, events="system")
                                           for _ in range(settings.ami_action_links - 1)])
    events = _ami_client(settings, events="on")
    store = Store(settings.database)
    outbox = Outbox(store, timeout=settings.notify_timeout, expiry=settings.notify_expiry,
                    max_backoff=settings.notify_max_backoff, secret=settings.notify_secret)
    history = CallHistory(store, settings.history_retention_days)
    setups = CallSetupWatch(outbox, max_age=settings.ring_timeout * 3 + 120)
    events.on_event("UserEvent", setups.on_user_event)
    events.on_event("OriginateResponse", setups.on_originate_response)
    notifier = CallEventNotifier(outbox, settings.notify_urls, settings.notify_json_urls)
    live_calls = LiveCallStore(store)

    def call_changed(call, old) -> None:
        live_calls.on_change(call, old)
        notifier.call_changed(call, old)

    tracker = CallTracker(on_change=call_changed, on_end=history.record)
    lag = LagMeter()

    def feed_tracker(event) -> None:
        tracker.handle(event)
        lag.observe(event)

    for event in EVENTS:
        events.on_event(event, feed_tracker)

    async def rebuild_call_table() -> None:
        known = tracker.known_channels()
        # on the event link, so that the list and the events are in one order
        listed = await events.send_list({"Action": "CoreShowChannels"}, timeout=30)
        tracker.rebuild(listed, known)
        log.info("call table rebuilt: %d call(s) up", len(tracker.calls))

    events.on_connected(rebuild_call_table)
    recordings = Recordings(ami, outbox, settings.recordings_dir,
                            settings.asterisk_recordings_dir or str(settings.recordings_dir.resolve()),
                            settings.public_url)
    events.on_event("Hangup", recordings.on_hangup)
    media = Media(settings.sounds_dir, settings.media_dir,
                  settings.asterisk_media_dir or str(settings.media_dir.resolve()), settings.play_max_bytes)
    return Services(settings=settings, ami=ami, outbox=outbox, setups=setups, tracker=tracker, history=history,
                    store=store, live_calls=live_calls, recordings=recordings, media=media, lag=lag,
                    ami_events=events, action_links=action_links)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    await services.store.open()
    await services.history.purge()
    services.tracker.remember(await services.live_calls.load())
    await services.outbox.start()
    await services.ami_events.start()
    await services.action_links.start()
    purger = asyncio.create_task(_purge_history_hourly(services))
    yield
    purger.cancel()
    await services.recordings.close()
    await services.action_links.close()
    await services.ami_events.close()
    await services.outbox.close()
    await services.store.close()


async def _purge_history_hourly(services: Services) -> None:
    while True:
        await asyncio.sleep(3600)
        try:
            await services.history.purge()
        except Exception:
            log.exception("call history purge failed")


def build_app(settings: Settings, services: Services | None = None) -> web.Application:
    app = web.Application(client_max_size=settings.max_request_bytes)
    app[SERVICES] = services or build_services(settings)
    app[AUTH] = Authenticator(settings.users, settings.allowed_networks, settings.denied_networks,
                              required=settings.auth_required)
    app[LIMITS] = Limits(max_value_length=settings.max_value_length, max_parameters=settings.max_parameters)
    app[STARTED] = time.time()
    app.router.add_get("/status", handle_status)
    app.router.add_get("/recordings/{name}", handle_recording)
    add_routes(app)
    app.cleanup_ctx.append(_lifecycle)
    return app


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; in-flight requests are answered before exit."""
    app = build_app(settings)
    quiet_malformed_requests()
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger, handle_signals=False,
                           shutdown_timeout=5.0)
    await runner.setup()
    for listener in settings.listeners:
        site = web.TCPSite(runner, listener.host, listener.port, reuse_address=True)
        await site.start()
        log.info("listening on http://%s:%d (%s dialect)", listener.host, listener.port, listener.dialect.value)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()
