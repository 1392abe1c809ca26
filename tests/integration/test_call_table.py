"""The live call table and CallChanged notifications, from the real Asterisk's events."""

from __future__ import annotations

import asyncio
import re
import subprocess

from .conftest import ROOT, RUN, XE_URL, channels, eventually, eventually_async, hangup_all


def calls_in(answer, record: str) -> list[dict[str, str]]:
    return [{child.tag: child.text or "" for child in call} for call in answer.xml.iter(record)]


async def test_call_setup_is_listed_in_both_dialects_and_notified_in_order(api, receiver):
    call_id = (await api("CallSetup", Caller="101", Callee="102")).get("CallId")

    async def listed_in_call():
        answer = await api("ListActiveCalls")
        return [c for c in calls_in(answer, "Call") if c["CallId"] == call_id and c["CallState"] == "InCall"]
    o10 = (await eventually_async(listed_in_call))[0]
    assert list(o10) == ["CallId", "Source", "CallerId", "Destination", "CallerDialed", "CalleeDialed",
                         "StartTime", "RingDuration", "TalkDuration", "CallState"]
    assert (o10["Source"], o10["Destination"], o10["CallerId"]) == ("101", "102", "101")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", o10["StartTime"])
    assert re.fullmatch(r"\d+\.\d{3}", o10["TalkDuration"])

    xe = [c for c in calls_in(await api("ListActiveCalls", url=XE_URL), "CallInfo") if c["CallId"] == call_id][0]
    assert list(xe) == ["CallState", "CallId", "Source", "CallerId", "Destination", "StartTime",
                        "RingDuration", "TalkDuration"]
    assert xe["CallState"] == "InCall"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?[+-]\d\d:\d\d", xe["StartTime"])
    assert re.fullmatch(r"\d+", xe["RingDuration"])

    hangup_all()
    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Completed")
    states = [p["CallState"] for p in receiver.posts if p.get("CallId") == call_id]
    assert states == ["Ringing", "InCall", "Completed"], states
    completed = [p for p in receiver.posts if p.get("CallId") == call_id][-1]
    assert (completed["NotificationName"], completed["Caller"], completed["Callee"]) == ("CallChanged", "101", "102")
    assert not [c for c in calls_in(await api("ListActiveCalls"), "Call") if c["CallId"] == call_id]


async def _is(states, call_id: str, state: str) -> bool:
    return (await states).get(call_id) == state


async def test_ringing_and_busy_calls(api, receiver):
    ringing_id = (await api("CallSetup", Caller="101", Callee="104")).get("CallId")
    busy_id = (await api("CallSetup", Caller="101", Callee="105")).get("CallId")

    async def states():
        return {c["CallId"]: c["CallState"] for c in calls_in(await api("ListActiveCalls"), "Call")}
    await eventually_async(lambda: _is(states(), ringing_id, "Ringing"))
    await eventually(lambda: any(c.tech_name == "PJSIP/104" and c.state == "Ringing" for c in channels()))
    await receiver.wait_for(lambda p: p.get("CallId") == busy_id and p.get("CallState") == "Busy")


async def test_three_simultaneous_calls_are_listed(api):
    ids = [(await api("CallSetup", Caller=a, Callee=b)).get("CallId")
           for a, b in (("101", "102"), ("102", "103"), ("103", "101"))]

    async def in_call():
        listed = {c["CallId"]: c["CallState"] for c in calls_in(await api("ListActiveCalls"), "Call")}
        return all(listed.get(i) == "InCall" for i in ids)
    await eventually_async(in_call)


def place_call(caller: str, callee: str, talk_ms: int, port: int) -> subprocess.CompletedProcess:
    """A lab phone calling another through the dialplan (sipp as the caller's phone)."""
    return subprocess.run(
        ["sipp", "-sf", str(ROOT / "lab" / "sipp" / "call.xml"), "127.0.0.1:5060", "-s", callee,
         "-i", "127.0.0.1", "-p", str(port), "-mp", str(port + 1000), "-m", "1", "-d", str(talk_ms),
         "-nostdin", "-timeout", "20", "-set", "caller", caller],
        cwd=RUN, capture_output=True, text=True, timeout=30)


async def test_a_phone_calling_a_phone_is_tracked_with_its_caller_name(api, receiver):
    sipp = asyncio.create_task(asyncio.to_thread(place_call, "103", "101", 3000, 5083))

    async def listed():
        return [c for c in calls_in(await api("ListActiveCalls"), "Call")
                if c["Source"] == "103" and c["CallState"] == "InCall"]
    call = (await eventually_async(listed))[0]
    assert (call["Destination"], call["CallerId"]) == ("101", "Jürgen Šťastný")
    xe = [c for c in calls_in(await api("ListActiveCalls", url=XE_URL), "CallInfo") if c["CallId"] == call["CallId"]]
    assert xe[0]["CallerId"] == "Jürgen Šťastný"

    result = await sipp
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    await receiver.wait_for(lambda p: p.get("CallId") == call["CallId"] and p.get("CallState") == "Completed")
    states = [p["CallState"] for p in receiver.posts if p.get("CallId") == call["CallId"]]
    assert states == ["Ringing", "InCall", "Completed"]
    assert {p["CallerId"] for p in receiver.posts if p.get("CallId") == call["CallId"]} == {"Jürgen Šťastný"}
