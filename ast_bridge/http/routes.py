"""The HTTP front door: `/api` and `/` on every listener, GET and form POST.

Order of checks for every request: client address (307), parsing (300),
credentials (304/305/306), command name (301), then the command itself. Every
outcome is HTTP 200 with Ozeki's XML; nothing a client sends produces a 500.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from ast_bridge.commands import find_command
from ast_bridge.commands.context import Request, Services
from ast_bridge.http.auth import Authenticator
from ast_bridge.http.codes import Code, Outcome, OzekiError
from ast_bridge.http.ozeki_xml import render_response
from ast_bridge.http.params import FORM_CONTENT_TYPES, Limits, Params, parse_pairs

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
AUTH = web.AppKey("auth", Authenticator)
LIMITS = web.AppKey("limits", Limits)
CONTENT_TYPE = "application/xml"


def xml_response(outcome: Outcome) -> web.Response:
    body = render_response(int(outcome.code), outcome.message, outcome.payload)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _read_pairs(request: web.Request, limits: Limits) -> list[tuple[str, str]]:
    pairs = parse_pairs(request.rel_url.raw_query_string, limits)
    if request.method == "POST":
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise OzekiError(Code.PARSE_ERROR, "request body too large") from None
        except (RequestPayloadError, HttpProcessingError, ConnectionResetError):
            # a body aiohttp cannot decode (bad Content-Encoding), or a client gone mid-body
            raise OzekiError(Code.PARSE_ERROR, "request body is not readable") from None
        if body:
            # no Content-Type at all is taken as a form (aiohttp reports application/octet-stream)
            declared = request.headers.get("Content-Type", "").strip()
            if declared and request.content_type not in FORM_CONTENT_TYPES:
                raise OzekiError(Code.PARSE_ERROR, "unsupported content type")
            try:
                text = body.decode("ascii")
            except UnicodeDecodeError:
                raise OzekiError(Code.PARSE_ERROR, "form body is not URL-encoded") from None
            pairs += parse_pairs(text, limits)
            if len(pairs) > limits.max_parameters:
                raise OzekiError(Code.PARSE_ERROR, "too many parameters")
    return pairs


async def handle_api(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    command_name = ""
    try:
        auth = request.app[AUTH]
        if not auth.address_allowed(request.remote):
            raise OzekiError(Code.FORBIDDEN_ADDRESS)
        params = Params(await _read_pairs(request, request.app[LIMITS]), request.app[LIMITS], check=False)
        command_name = params.command_name
        if not command_name.strip():
            raise OzekiError(Code.PARSE_ERROR, "no command")
        command = find_command(command_name)
        if command is not None:
            # messages name the command as Ozeki spells it, whatever case the client used
            params.command_name = command_name = command.name
        params.check_values()
        username = auth.check_credentials(params.raw("Username"), params.raw("Password"))
        if command is None:
            raise OzekiError(Code.NOT_IMPLEMENTED_COMMAND, command_name)
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        dialect = services.settings.dialect_for_port(sockname[1] if sockname else 0)
        outcome = await command.handler(services, Request(command.name, dialect, username), params)
    except OzekiError as error:
        outcome = error.outcome
    except Exception:
        log.exception("command %r failed unexpectedly", command_name[:64])
        outcome = Outcome(Code.INAPPROPRIATE_COMMAND, (command_name,))
    return xml_response(outcome)


def add_routes(app: web.Application) -> None:
    for path in ("/", "/api", "/api/"):
        app.router.add_route("GET", path, handle_api)
        app.router.add_route("POST", path, handle_api)
