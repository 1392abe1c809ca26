"""Faults while the bridge is busy."""

from __future__ import annotations

import asyncio
import subprocess
import time

from .conftest import LAB, bridge_status


async def test_asterisk_restart_during_a_stream_of_call_setups(api, http):
    answers: list[tuple[float, int, str]] = []
    stop = asyncio.Event()

    async def stream() -> None:
        while not stop.is_set():
            started = time.monotonic()
            answer = await api("CallSetup", Caller="299", Callee="299")
            answers.append((time.monotonic() - started, answer.code, answer.message))
            await asyncio.sleep(0.02)

    client = asyncio.create_task(stream())
    await asyncio.sleep(1.0)
    restart = await asyncio.to_thread(subprocess.run, [str(LAB), "restart-asterisk"], capture_output=True,
                                      text=True, timeout=60)
    assert restart.returncode == 0, restart.stderr
    back = time.monotonic()
    while (await bridge_status(http))["ami"]["state"] != "connected":
        assert time.monotonic() - back < 5.0, "no reconnect within 5 s of Asterisk being back"
        await asyncio.sleep(0.05)
    reconnected = len(answers)
    await asyncio.sleep(1.5)
    stop.set()
    await client

    codes = {code for _, code, _ in answers}
    assert codes <= {200, 402}, answers
    refused = [message for _, code, message in answers if code == 402]
    assert refused, "the restart happened while CallSetups were coming in"
    # while Asterisk shuts down it may still answer, refusing (Rejected); once it is gone,
    # the bridge answers at once (PbxUnavailable)
    allowed = {f"Call connect to '299' failed with result state '{state}'"
               for state in ("PbxUnavailable", "Rejected", "PbxTimeout")}
    assert set(refused) <= allowed, set(refused)
    assert max(seconds for seconds, _, _ in answers) < 2.0  # nobody waited for the reconnect
    assert [code for _, code, _ in answers[reconnected + 1:]] == [200] * len(answers[reconnected + 1:])
