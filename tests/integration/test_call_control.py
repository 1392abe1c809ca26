"""Commands on live calls, against the lab's real Asterisk."""

from __future__ import annotations

from .conftest import bridged_pairs, channels, eventually


async def test_hangup_ends_the_whole_call(api, receiver):
    call_id = (await api("CallSetup", Caller="101", Callee="102")).get("CallId")
    await eventually(lambda: any({"PJSIP/101", "PJSIP/102"} <= g for g in bridged_pairs()))

    answer = await api("Hangup", CallId=call_id)

    assert (answer.code, answer.message) == (200, "Command successfully executed"), answer.text
    await eventually(lambda: not channels())
    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Completed")


async def test_hangup_of_a_ringing_call(api):
    call_id = (await api("CallSetup", Caller="101", Callee="104")).get("CallId")
    await eventually(lambda: any(c.tech_name == "PJSIP/104" and c.state == "Ringing" for c in channels()))

    assert (await api("Hangup", CallId=call_id)).code == 200
    await eventually(lambda: not channels())


async def test_unknown_or_ended_call_ids_get_601(api):
    answer = await api("Hangup", CallId="NoSuchId")
    assert (answer.code, answer.message) == (601, "Call not found with ID 'NoSuchId'")
    answer = await api("hangup", callid="bad id!")
    assert (answer.code, answer.message) == (302, "Missing or invalid parameter 'CallId' for command 'Hangup'")
    answer = await api("Hangup")
    assert answer.code == 302
