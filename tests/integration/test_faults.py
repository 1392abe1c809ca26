"""Faults while the bridge is busy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import aiohttp

from .conftest import LAB, O10_URL, RUN, USER, bridge_status


async def _stream_through(api, http, fault: str) -> tuple[list[tuple[float, int, str, str | None]], float, int]:
    """CallSetups every 20 ms while `fault` is done to Asterisk; returns the answers
    (seconds, code, message, CallId) and when the stream started (epoch)."""
    answers: list[tuple[float, int, str, str | None]] = []
    stop = asyncio.Event()
    await asyncio.sleep(1.1)  # the history's second-resolution From must not reach back into the last test
    began = time.time()

    async def stream() -> None:
        while not stop.is_set():
            started = time.monotonic()
            answer = await api("CallSetup", Caller="299", Callee="299")
            answers.append((time.monotonic() - started, answer.code, answer.message, answer.get("CallId")))
            await asyncio.sleep(0.02)

    client = asyncio.create_task(stream())
    await asyncio.sleep(1.0)
    if fault == "kill":
        os.kill(asterisk_pid(), signal.SIGKILL)
        await asyncio.sleep(1.0)
        action = "start-asterisk"
    else:
        action = "restart-asterisk"
    done = await asyncio.to_thread(subprocess.run, [str(LAB), action], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    back = time.monotonic()
    while (await bridge_status(http))["ami"]["state"] != "connected":
        assert time.monotonic() - back < 5.0, "no reconnect within 5 s of Asterisk being back"
        await asyncio.sleep(0.05)
    reconnected = len(answers)
    await asyncio.sleep(1.5)
    stop.set()
    await client

    codes = {code for _, code, _, _ in answers}
    assert codes <= {200, 402}, answers
    refused = [message for _, code, message, _ in answers if code == 402]
    assert refused, "the fault happened while CallSetups were coming in"
    # while Asterisk shuts down it may still answer, refusing (Rejected); once it is gone,
    # the bridge answers at once (PbxUnavailable)
    allowed = {f"Call connect to '299' failed with result state '{state}'"
               for state in ("PbxUnavailable", "Rejected", "PbxTimeout")}
    assert set(refused) <= allowed, set(refused)
    assert max(seconds for seconds, _, _, _ in answers) < 2.0  # nobody waited for the reconnect
    assert [code for _, code, _, _ in answers[reconnected + 1:]] == [200] * len(answers[reconnected + 1:])
    return answers, began, reconnected


async def _history_since(api, began: float) -> set[str]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(began))
    answer = await api("ListCallHistory", Source="299", From=stamp, RowsPerPage="1000")
    return {call.findtext("CallId") for call in answer.xml.iter("Call")}


async def test_asterisk_restart_during_a_stream_of_call_setups(api, http):
    await _stream_through(api, http, "restart")


async def test_asterisk_killed_during_a_stream_dials_no_call_twice(api, http):
    answers, began, reconnected = await _stream_through(api, http, "kill")
    accepted = {call_id for _, code, _, call_id in answers if code == 200}
    after = {call_id for _, code, _, call_id in answers[reconnected + 1:] if code == 200}
    await asyncio.sleep(1.0)  # the last calls end and reach the history
    dialled = await _history_since(api, began)
    # every call Asterisk ran was one the client was told about: nothing refused, and
    # nothing sent before the crash, was dialled again after the reconnect
    assert dialled <= accepted, dialled - accepted
    # and every CallSetup accepted after the reconnect ran (once: CallIds are keys)
    assert after <= dialled, after - dialled


def asterisk_pid() -> int:
    return int((RUN / "asterisk.pid").read_text())


async def test_a_silently_dead_ami_link_is_noticed_by_the_watchdog(api, http):
    """Asterisk frozen (SIGSTOP): the socket stays open, nothing answers."""
    pid = asterisk_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        while (await bridge_status(http))["ami"]["state"] == "connected":
            # ping every 5 s, 2 s to answer (the lab's defaults)
            assert time.monotonic() - frozen < 10.0, "the watchdog did not notice the dead link"
            await asyncio.sleep(0.2)
        started = time.monotonic()
        answer = await api("CallSetup", Caller="299", Callee="299")
        assert answer.code == 402 and time.monotonic() - started < 2.0
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    while (await bridge_status(http))["ami"]["state"] != "connected":
        assert time.monotonic() - thawed < 10.0, "no reconnect after Asterisk came back"
        await asyncio.sleep(0.1)
    assert (await api("CallSetup", Caller="299", Callee="299")).code == 200


async def test_sigterm_under_load_answers_what_it_accepted_and_keeps_the_outbox(api, http):
    results: list[str] = []
    stop = asyncio.Event()

    async def client() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as own:
            while not stop.is_set():
                try:
                    async with own.get(O10_URL, params={"command": "CallSetup", "Caller": "299", "Callee": "299",
                                                        **USER}) as response:
                        body = await response.text()
                        results.append("200" if "<Code>200</Code>" in body else
                                       f"{response.status}:{body[:80]}")
                except aiohttp.ClientConnectorError:
                    results.append("refused")  # the listener is closed: not accepted, not lost
                    await asyncio.sleep(0.05)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    results.append(f"broken:{type(exc).__name__}")

    clients = [asyncio.create_task(client()) for _ in range(5)]
    await asyncio.sleep(1.0)
    queued_before = (await bridge_status(http))["bridge"]["outbox"]["undelivered"]
    pid = int((RUN / "bridge.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*clients)
    restarted = await asyncio.to_thread(subprocess.run, [str(LAB), "up"], capture_output=True, text=True,
                                        timeout=120)
    assert restarted.returncode == 0, restarted.stderr

    assert not [r for r in results if r.startswith("broken")], [r for r in results if r != "200"][:10]
    assert results.count("200") > 20
    assert set(results) <= {"200", "refused"}, set(results)
    # nothing that was queued was lost: the outbox is still there after the restart
    after = (await bridge_status(http))["bridge"]["outbox"]["undelivered"]
    assert after >= queued_before  # the receiver is down all along: nothing delivered, nothing lost
