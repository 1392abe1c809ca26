"""Nothing lost: the outbox across a receiver that is down and a bridge that is
killed; the call table across bridge and Asterisk restarts; the history."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import aiohttp

from .conftest import LAB, RUN, XE_URL, bridge_status, eventually_async, hangup_all


def calls_in(answer, record: str) -> list[dict[str, str]]:
    return [{child.tag: child.text or "" for child in call} for call in answer.xml.iter(record)]


async def lab(action: str) -> None:
    result = await asyncio.to_thread(subprocess.run, [str(LAB), action], capture_output=True, text=True,
                                     timeout=120)
    assert result.returncode == 0, result.stderr


async def listed(api, call_id: str) -> dict[str, str] | None:
    return next((c for c in calls_in(await api("ListActiveCalls"), "Call") if c["CallId"] == call_id), None)


async def in_call(api, call_id: str) -> dict[str, str]:
    async def check():
        call = await listed(api, call_id)
        return call if call and call["CallState"] == "InCall" else None
    return await eventually_async(check)


async def undelivered(http: aiohttp.ClientSession) -> int:
    return (await bridge_status(http))["bridge"]["outbox"]["undelivered"]


def states_of(receiver, call_id: str) -> list[str]:
    return [p["CallState"] for p in receiver.posts
            if p.get("CallId") == call_id and p.get("NotificationName") == "CallChanged"]


async def test_receiver_down_then_up_gets_every_notification_once_in_order(api, http, receiver_server):
    call_id = (await api("CallSetup", Caller="101", Callee="102")).get("CallId")
    await in_call(api, call_id)
    hangup_all()
    await eventually_async(lambda: _at_least(undelivered(http), 3), timeout=10)

    receiver = await receiver_server.start()
    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Completed",
                            timeout=15)
    assert states_of(receiver, call_id) == ["Ringing", "InCall", "Completed"]
    ids = [h["X-Notification-Id"] for h, p in zip(receiver.headers, receiver.posts) if p.get("CallId") == call_id]
    assert len(set(ids)) == len(ids) == 3


async def test_bridge_killed_with_notifications_queued_delivers_them_after_restart(api, http, receiver_server):
    call_id = (await api("CallSetup", Caller="101", Callee="103")).get("CallId")
    await in_call(api, call_id)
    hangup_all()
    await eventually_async(lambda: _at_least(undelivered(http), 3), timeout=10)

    pid = int((RUN / "bridge.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.3)
    await lab("up")  # sees the bridge gone and starts it again
    receiver = await receiver_server.start()
    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Completed",
                            timeout=15)
    assert states_of(receiver, call_id) == ["Ringing", "InCall", "Completed"]


async def test_bridge_restart_keeps_the_call_identity_and_start_time(api, receiver):
    call_id = (await api("CallSetup", Caller="102", Callee="103")).get("CallId")
    before = await in_call(api, call_id)

    await lab("restart-bridge")  # SIGTERM, then a new process

    after = await in_call(api, call_id)
    assert (after["StartTime"], after["Source"], after["Destination"]) == \
        (before["StartTime"], before["Source"], before["Destination"])


async def test_asterisk_restart_ends_and_notifies_the_calls_it_dropped(api, http, receiver):
    call_id = (await api("CallSetup", Caller="101", Callee="102")).get("CallId")
    await in_call(api, call_id)

    await lab("restart-asterisk")

    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Completed",
                            timeout=15)
    assert await listed(api, call_id) is None


async def test_history_keeps_ended_calls_with_filters_and_paging(api, receiver):
    call_id = (await api("CallSetup", Caller="103", Callee="101")).get("CallId")
    await in_call(api, call_id)
    await asyncio.sleep(1.0)
    hangup_all()
    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Completed")
    busy_id = (await api("CallSetup", Caller="101", Callee="105")).get("CallId")
    await receiver.wait_for(lambda p: p.get("CallId") == busy_id and p.get("CallState") == "Busy")

    async def history(**filters):
        return await eventually_async(lambda: _with_rows(api("ListCallHistory", **filters)))
    answer = await history(CallId=call_id)
    assert answer.get("TotalRecords") == "1"
    row = calls_in(answer, "Call")[0]
    assert list(row)[:9] == ["StartTime", "Direction", "Source", "Destination", "State", "Dialed", "CallerId",
                             "Type", "CallId"]
    assert (row["Source"], row["Destination"], row["CallId"], row["Type"]) == ("103", "101", call_id, "Audio")
    assert row["State"] in ("CallerHungUp", "CalleeHungUp")
    assert float(row["TalkDuration"]) >= 1.0

    busy = calls_in(await history(CallId=busy_id), "Call")[0]
    assert busy["State"] == "Busy" and float(busy["TalkDuration"]) == 0.0

    xe = await api("GetCallHistory", url=XE_URL, Source="103", RowsPerPage="1", PageNumber="0")
    assert int(xe.get("NumberOfCalls")) >= 1 and len(calls_in(xe, "Call")) == 1
    page_beyond = await api("ListCallHistory", CallId=call_id, PageNumber="1")
    assert page_beyond.get("TotalRecords") == "1" and calls_in(page_beyond, "Call") == []
    bad = await api("ListCallHistory", RowsPerPage="lots")
    assert (bad.code, bad.message) == (302, "Missing or invalid parameter 'RowsPerPage' for command 'ListCallHistory'")

    # history survives a bridge restart
    await lab("restart-bridge")
    assert (await history(CallId=call_id)).get("TotalRecords") == "1"


async def _at_least(value, n: int) -> bool:
    return (await value) >= n


async def _with_rows(answer):
    answer = await answer
    return answer if answer.xml.find(".//Call") is not None else None
