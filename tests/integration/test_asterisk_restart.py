"""The bridge survives Asterisk going away and coming back."""

from __future__ import annotations

import asyncio
import subprocess
import time

import aiohttp

from .conftest import LAB, bridge_status, bridged_pairs, channels, eventually


def lab(action: str) -> None:
    result = subprocess.run([str(LAB), action], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


async def test_while_asterisk_is_down_call_setup_fails_fast_then_works_after_restart(api, http: aiohttp.ClientSession):
    try:
        await asyncio.to_thread(lab, "stop-asterisk")
        status = await bridge_status(http)
        assert status["ami"]["state"] != "connected"

        started = time.monotonic()
        answer = await api("CallSetup", Caller="101", Callee="102")
        assert time.monotonic() - started < 2.0
        assert (answer.code, answer.message) == (
            402, "Call connect to '101' failed with result state 'PbxUnavailable'")
    finally:
        await asyncio.to_thread(lab, "start-asterisk")
    back = time.monotonic()

    async def connected() -> bool:
        return (await bridge_status(http))["ami"]["state"] == "connected"

    while not await connected():
        assert time.monotonic() - back < 5.0, "the bridge did not reconnect within 5 s of Asterisk being back"
        await asyncio.sleep(0.1)

    answer = await api("CallSetup", Caller="101", Callee="102")
    assert answer.code == 200, answer.text
    await eventually(lambda: any({"PJSIP/101", "PJSIP/102"} <= g for g in bridged_pairs()))
    await asyncio.sleep(1.0)
    # exactly one call: the refused CallSetup was not replayed after the reconnect
    assert sorted(c.tech_name for c in channels()) == ["PJSIP/101", "PJSIP/102"]
