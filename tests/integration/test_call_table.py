"""The live call table and CallChanged notifications, from the real Asterisk's events."""

from __future__ import annotations

import re

from .conftest import XE_URL, channels, eventually, eventually_async, hangup_all


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
