"""`ast-bridge serve | check | hash-password`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys

from pydantic import ValidationError

from ast_bridge import __version__
from ast_bridge.settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


async def _check(settings: Settings) -> int:
    """Reach AMI, and see that the dialplan has the contexts the bridge relies on
    (asterisk-conf/extensions_ast_bridge.conf)."""
    from ast_bridge.app import build_services
    from ast_bridge.asterisk.actions import (
        PLAY_CHANNEL,
        asterisk_info,
        dialplan_context_exists,
    )

    services = build_services(settings)
    ami = services.ami
    await ami.start()
    ok = await ami.wait_connected(settings.ami_connect_timeout + 3)
    if ok:
        info = await asterisk_info(ami)
        print(f"AMI {settings.ami_host}:{settings.ami_port}: connected, Asterisk {info.version}, "
              f"up {info.uptime_seconds} s")
        contexts = [settings.caller_context, settings.callee_context, settings.hold_context,
                    settings.transfer_context, PLAY_CHANNEL.split("@", 1)[1]]
        missing = [c for c in contexts if not await dialplan_context_exists(ami, c)]
        if missing:
            ok = False
            print(f"dialplan: MISSING context(s) {', '.join(missing)}: include "
                  "extensions_ast_bridge.conf (see README, 'Running against your own Asterisk')")
        else:
            print(f"dialplan: {len(contexts)} contexts present")
    else:
        print(f"AMI {settings.ami_host}:{settings.ami_port}: NOT reachable ({ami.last_error})")
    await ami.close()
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ast-bridge", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--config", help="TOML configuration file (or AST_BRIDGE_CONFIG_FILE)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bridge")
    sub.add_parser("check", help="validate the configuration and reach AMI")
    hp = sub.add_parser("hash-password", help="print a pbkdf2_sha256 hash for the users setting")
    hp.add_argument("password", nargs="?", help="read from the terminal when omitted")
    args = parser.parse_args(argv)

    if args.command == "hash-password":
        from ast_bridge.http.auth import hash_password

        print(hash_password(args.password or getpass.getpass("Password: ")))
        return 0
    try:
        settings = _settings(args)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        print(f"ast-bridge: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "check":
        print(f"configuration OK: {len(settings.listeners)} listener(s), {len(settings.users)} user(s)")
        return asyncio.run(_check(settings))
    from ast_bridge.app import serve

    run(serve(settings), settings.event_loop)
    return 0


def run(coroutine, event_loop: str) -> None:
    """Run on uvloop when asked and installed (about twice the HTTP and socket
    throughput of asyncio's own loop), else on asyncio's loop."""
    if event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            logging.getLogger(__name__).warning("uvloop is not installed: using asyncio's event loop")
        else:
            uvloop.run(coroutine)
            return
    asyncio.run(coroutine)
