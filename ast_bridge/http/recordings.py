"""`GET /recordings/<file>`: the RecordURL of RecordCompleted, for authenticated
clients only (Ozeki's `Username`/`Password` in the query, or HTTP Basic)."""

from __future__ import annotations

import base64

from aiohttp import web

from ast_bridge.http.codes import OzekiError
from ast_bridge.http.routes import AUTH, SERVICES

CONTENT_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg"}


async def handle_recording(request: web.Request) -> web.StreamResponse:
    username = request.query.get("Username") or request.query.get("username")
    password = request.query.get("Password") or request.query.get("password")
    header = request.headers.get("Authorization")
    if header and header.lower().startswith("basic "):
        try:
            username, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            pass
    try:
        request.app[AUTH].check(request.remote, username, password)
    except OzekiError as error:
        if int(error.outcome.code) == 307:  # the client's address is not allowed
            raise web.HTTPForbidden() from None
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="ast_bridge"'}) from None
    path = request.app[SERVICES].recordings.path_for(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream")})
