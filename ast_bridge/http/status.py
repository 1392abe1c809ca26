"""`GET /status`: JSON health of the bridge and of each dependency."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from aiohttp import web

from ast_bridge import __version__
from ast_bridge.asterisk.actions import asterisk_info
from ast_bridge.asterisk.ami import AmiError
from ast_bridge.http.routes import SERVICES

STARTED = web.AppKey("started", float)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def _link(ami) -> dict:
    return {
        "state": ami.state.value,
        "host": f"{ami.host}:{ami.port}",
        "connected_since": _iso(ami.connected_since),
        "connects": ami.connects,
        "last_error": ami.last_error,
        "protocol_version": ami.protocol_version,
        "actions_sent": ami.actions_sent,
    }


async def handle_status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ami = services.ami
    version = uptime = None
    if ami.connected:
        try:
            info = await asterisk_info(ami, timeout=1.0)
            version, uptime = info.version, info.uptime_seconds
        except AmiError:
            pass
    depth, oldest_age = await services.outbox.depth()
    body = {
        "ami": _link(ami),
        "ami_events": _link(services.ami_events),
        # the links CallSetups are spread over besides `ami` (setting ami_action_links)
        "ami_action_links": [_link(link) for link in services.action_links.links[1:]],
        "asterisk": {"version": version, "uptime_seconds": uptime},
        "bridge": {
            "version": __version__,
            "uptime_seconds": round(time.time() - request.app[STARTED], 1),
            "pending_call_setups": len(services.setups),
            "calls": len(services.tracker.calls),
            "tracker": {"events": services.tracker.events_seen, **services.lag.summary()},
            "outbox": {"undelivered": depth, "oldest_undelivered_age_seconds": oldest_age,
                       "delivered": services.outbox.delivered, "expired": services.outbox.expired},
        },
    }
    return web.json_response(body)
