"""CallSetup against the lab's real Asterisk: what the phones and Asterisk really saw."""

from __future__ import annotations

import asyncio

import aiohttp

from .conftest import (
    O10_URL,
    XE_URL,
    asterisk_cli,
    bridge_status,
    bridged_pairs,
    channels,
    eventually,
    phone_invites,
)


def is_error(post: dict[str, str], call_id: str) -> bool:
    """An ErrorUrl post for this call (the receiver also gets CallChanged posts)."""
    return post.get("CallId") == call_id and post.get("NotificationName") == "Error"


def bridged(a: str, b: str):
    return lambda: any({a, b} <= group for group in bridged_pairs())


async def test_call_setup_bridges_caller_and_callee_and_shows_caller_id(api):
    invites_before = len(phone_invites("102"))

    answer = await api("CallSetup", Caller="101", Callee="102")

    assert answer.status == 200 and answer.code == 200, answer.text
    assert answer.message == "Command successfully executed"
    assert answer.get("CallId") and answer.get("CallId").isalnum()
    await eventually(bridged("PJSIP/101", "PJSIP/102"))
    invites = phone_invites("102")[invites_before:]
    assert len(invites) == 1
    assert '"101" <sip:101@' in invites[0], invites[0]  # the callee is shown the caller


async def test_documented_example_url_works_verbatim(http: aiohttp.ClientSession):
    url = ("http://127.0.0.1:9509/api?command=CallSetup&Caller=101&Callee=103"
           "&Username=HTTP_User_1&Password=qwe123")
    async with http.get(url) as response:
        text = await response.text()
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/xml"
    assert text.startswith('<?xml version="1.0"?>\r\n<Response xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                           ' xmlns:xsd="http://www.w3.org/2001/XMLSchema">\r\n  <Code>200</Code>\r\n'
                           "  <Message>Command successfully executed</Message>\r\n  <CallId>")
    await eventually(bridged("PJSIP/101", "PJSIP/103"))


async def test_form_post_on_the_xe_listener_with_any_case(http: aiohttp.ClientSession):
    form = {"COMMAND": "callsetup", "caller": "102", "CALLEE": "103",
            "username": "HTTP_User_1", "PASSWORD": "qwe123"}
    async with http.post(XE_URL, data=form) as response:
        text = await response.text()
    assert "<Code>200</Code>" in text, text
    await eventually(bridged("PJSIP/102", "PJSIP/103"))


async def test_both_paths_answer_on_both_listeners(api):
    for url in (O10_URL, O10_URL.replace("/api", "/"), XE_URL, XE_URL + "api"):
        answer = await api("NoSuchCommand", url=url)
        assert answer.code == 301, (url, answer.text)
        assert answer.message == "Not implemented command: 'NoSuchCommand'"


async def test_callee_that_never_answers_rings_then_reports_no_answer(api, receiver):
    answer = await api("CallSetup", Caller="101", Callee="104", ErrorUrl=receiver.url)
    assert answer.code == 200
    call_id = answer.get("CallId")

    ringing = await eventually(lambda: [c for c in channels() if c.tech_name == "PJSIP/104"
                                        and c.state == "Ringing"])
    assert ringing
    # the lab's ring_timeout is 8 s: the dialplan gives up and the client hears of it
    post = await receiver.wait_for(lambda p: is_error(p, call_id), timeout=15)
    assert post["NotificationName"] == "Error"
    assert post["Reason"] == "NotAnswered" and post["CallState"] == "Busy"
    assert post["FailedParty"] == "callee" and post["FailedNumber"] == "104"
    assert (post["Caller"], post["Callee"]) == ("101", "104")


async def test_busy_callee_reaches_error_url(api, receiver):
    answer = await api("CallSetup", Caller="101", Callee="105", ErrorUrl=receiver.url)
    call_id = answer.get("CallId")

    post = await receiver.wait_for(lambda p: is_error(p, call_id))
    assert post["Reason"] == "Busy" and post["CallState"] == "Busy"
    assert post["FailedParty"] == "callee" and post["DialStatus"] == "BUSY"
    await eventually(lambda: not channels())  # the answered caller was hung up too


async def test_busy_caller_is_reported_once(api, receiver):
    answer = await api("CallSetup", Caller="105", Callee="101", ErrorUrl=receiver.url)
    call_id = answer.get("CallId")

    post = await receiver.wait_for(lambda p: is_error(p, call_id))
    assert post["Reason"] == "Busy" and post["FailedParty"] == "caller"
    await asyncio.sleep(1.5)  # the OriginateResponse failure arrives too; it must not double-report
    assert len([p for p in receiver.posts if is_error(p, call_id)]) == 1
    assert not any(c.tech_name == "PJSIP/101" for c in channels())  # the callee was never rung


async def test_unknown_numbers_reach_error_url(api, receiver):
    callee_unknown = (await api("CallSetup", Caller="101", Callee="999", ErrorUrl=receiver.url)).get("CallId")
    caller_unknown = (await api("CallSetup", Caller="998", Callee="101", ErrorUrl=receiver.url)).get("CallId")

    post = await receiver.wait_for(lambda p: is_error(p, callee_unknown))
    assert (post["Reason"], post["FailedParty"], post["FailedNumber"]) == ("NotFound", "callee", "999")
    post = await receiver.wait_for(lambda p: is_error(p, caller_unknown))
    assert (post["Reason"], post["FailedParty"], post["FailedNumber"]) == ("NotFound", "caller", "998")


INJECTIONS = [
    ("Caller", "101&PJSIP/102"),
    ("Callee", "102&PJSIP/103"),
    ("Caller", "101\r\nAction: Originate\r\nChannel: PJSIP/103"),
    ("Callee", "102\nAction: Originate"),
    ("Callee", "102\x00"),
    ("Caller", "101,1"),
    ("Callee", "102|PJSIP/103"),
    ("Callee", "PJSIP/103"),
    ("Callee", "103@lab-numbers"),
    ("Callee", "${EXTEN}"),
    ("Callee", "_X."),
    ("Caller", "1" * 41),
    ("ErrorUrl", "http://127.0.0.1/x\r\nAction: Originate"),
    ("ErrorUrl", "javascript:alert(1)"),
]


async def test_injection_attempts_are_refused_and_create_no_channel(api):
    for name, value in INJECTIONS:
        params = {"Caller": "101", "Callee": "102", name: value}
        answer = await api("CallSetup", **params)
        assert answer.code == 302, (name, value, answer.text)
        assert answer.message == f"Missing or invalid parameter '{name}' for command 'CallSetup'"
    await asyncio.sleep(1.0)
    assert channels() == []


async def test_missing_parameters_and_bad_credentials(api):
    answer = await api("CallSetup", Caller="101")
    assert (answer.code, answer.message) == (302, "Missing or invalid parameter 'Callee' for command 'CallSetup'")
    answer = await api("CallSetup", Caller="101", Callee="102", auth=False)
    assert (answer.code, answer.message) == (304, "Authentication required")
    answer = await api("CallSetup", Caller="101", Callee="102", auth=False, Username="HTTP_User_1", Password="x")
    assert (answer.code, answer.message) == (305, "Authentication failed, bad username or password")
    answer = await api("CallSetup", Caller="101", Callee="102", auth=False, Username="admin", Password="abc123")
    assert answer.code == 200, answer.text  # a user whose password is stored hashed
    answer = await api("CallSetup", Caller="101", Callee="102", auth=False, Username="no_api", Password="no_api")
    assert (answer.code, answer.message) == (306, "User is not allowed to use API in ACL")


async def test_call_setups_are_spread_over_the_action_links(api, http: aiohttp.ClientSession):
    # the lab runs the default ami_action_links = 2: Asterisk has a session for each
    # action link and one for the event link, and a burst of CallSetups uses both
    # action sessions (Asterisk answers one session's actions one at a time)
    status = await bridge_status(http)
    links = [status["ami"], *status["ami_action_links"]]
    assert len(links) == 2 and all(link["state"] == "connected" for link in links), links
    sessions = [line for line in asterisk_cli("manager show connected").splitlines()
                if line.split()[:1] == ["ast_bridge"]]
    assert len(sessions) == 3, sessions
    before = [link["actions_sent"] for link in links]

    answers = await asyncio.gather(*(api("CallSetup", Caller="299", Callee="299") for _ in range(40)))

    assert [a.code for a in answers] == [200] * 40, [a.text for a in answers if a.code != 200][:1]
    status = await bridge_status(http)
    sent = [link["actions_sent"] - b for link, b in zip([status["ami"], *status["ami_action_links"]], before)]
    # 40 Originates, the second /status's two actions, at most a watchdog Ping or three;
    # a share on each link
    assert 40 <= sum(sent) <= 45 and min(sent) >= 5, sent
