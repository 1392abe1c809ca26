"""The bridge as a process: its CLI, /status, and what it writes to its log."""

from __future__ import annotations

import asyncio
import os
import subprocess

import aiohttp

from .conftest import ROOT, RUN, bridge_status


async def test_status_reports_ami_and_asterisk(http: aiohttp.ClientSession):
    status = await bridge_status(http)
    assert status["ami"]["state"] == "connected"
    assert status["ami"]["host"] == "127.0.0.1:5038"
    assert status["asterisk"]["version"].startswith("22.")
    assert status["asterisk"]["uptime_seconds"] >= 0
    assert status["bridge"]["uptime_seconds"] > 0


def test_check_command_validates_settings_and_reaches_ami():
    env = {**os.environ, "AST_BRIDGE_CONFIG_FILE": str(ROOT / "lab" / "ast-bridge.toml")}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ast-bridge"), "check"], capture_output=True,
                            text=True, env=env, timeout=20)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configuration OK: 2 listener(s), 3 user(s)" in result.stdout
    assert "connected, Asterisk 22." in result.stdout
    assert "dialplan: 5 contexts present" in result.stdout

    missing = {**env, "AST_BRIDGE_HOLD_CONTEXT": "no-such-context"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ast-bridge"), "check"], capture_output=True,
                            text=True, env=missing, timeout=20)
    assert result.returncode == 1 and "MISSING context(s) no-such-context" in result.stdout

    env["AST_BRIDGE_AMI_PORT"] = "1"  # nothing listens there
    env["AST_BRIDGE_AMI_CONNECT_TIMEOUT"] = "0.5"
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ast-bridge"), "check"], capture_output=True,
                            text=True, env=env, timeout=20)
    assert result.returncode == 1 and "NOT reachable" in result.stdout

    env["AST_BRIDGE_AMI_PORT"] = "not-a-port"
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "ast-bridge"), "check"], capture_output=True,
                            text=True, env=env, timeout=20)
    assert result.returncode == 2 and "invalid configuration" in result.stderr


async def test_credentials_never_reach_the_log(api):
    secret = "Sekr3t-not-in-logs"
    await api("CallSetup", auth=False, Caller="1", Callee="2", Username="HTTP_User_1", Password=secret)
    await api("CallSetup", method="POST", auth=False, Caller="1", Callee="2", Username="u", Password=secret)
    await asyncio.sleep(0.3)
    log = (RUN / "bridge.log").read_text(errors="replace")
    assert "Password=***" in log
    assert secret not in log and "qwe123" not in log
