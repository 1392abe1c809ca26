"""Commands on live calls, against the lab's real Asterisk."""

from __future__ import annotations

import array
import base64
import asyncio
import io
import wave


from .rtp_probe import capture_rtp, tone_power
from .conftest import RUN, asterisk_cli, bridged_pairs, channels, eventually, eventually_async, phone_dtmf


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


async def call_in_call(api, caller: str, callee: str) -> str:
    call_id = (await api("CallSetup", Caller=caller, Callee=callee)).get("CallId")
    await eventually(lambda: any({f"PJSIP/{caller}", f"PJSIP/{callee}"} <= g for g in bridged_pairs()))
    await eventually_async(lambda: _state_is(api, call_id, "InCall"))
    return call_id


async def _state_is(api, call_id: str, state: str) -> bool:
    answer = await api("ListActiveCalls")
    return any(c.findtext("CallId") == call_id and c.findtext("CallState") == state
               for c in answer.xml.iter("Call"))


def on_hold(*numbers: str):
    return lambda: sorted(c.tech_name for c in channels() if c.application == "MusicOnHold") == \
        sorted(f"PJSIP/{n}" for n in numbers)


async def test_hold_puts_both_parties_on_music_and_unhold_reconnects_them(api, receiver):
    call_id = await call_in_call(api, "101", "102")

    assert (await api("Unhold", CallId=call_id)).code == 303  # not on hold
    assert (await api("Hold", CallId=call_id)).code == 200
    await eventually(on_hold("101", "102"))
    await eventually_async(lambda: _state_is(api, call_id, "Hold"))
    assert (await api("Hold", CallId=call_id)).code == 303  # already on hold

    assert (await api("Unhold", CallId=call_id)).code == 200
    await eventually(lambda: any({"PJSIP/101", "PJSIP/102"} <= g for g in bridged_pairs()))
    await eventually(on_hold())
    await eventually_async(lambda: _state_is(api, call_id, "InCall"))
    await receiver.wait_for(lambda p: p.get("CallId") == call_id and p.get("CallState") == "Hold")
    states = [p["CallState"] for p in receiver.posts if p.get("CallId") == call_id]
    assert states == ["Ringing", "InCall", "Hold", "InCall"], states


async def test_a_party_hanging_up_while_on_hold_ends_the_call(api):
    call_id = await call_in_call(api, "101", "102")
    assert (await api("Hold", CallId=call_id)).code == 200
    await eventually(on_hold("101", "102"))
    caller = next(c.name for c in channels() if c.tech_name == "PJSIP/101")
    asterisk_cli(f"channel request hangup {caller}")
    await eventually(lambda: not channels())


async def test_hold_of_a_ringing_call_is_not_allowed(api):
    call_id = (await api("CallSetup", Caller="101", Callee="104")).get("CallId")
    await eventually(lambda: any(c.tech_name == "PJSIP/104" and c.state == "Ringing" for c in channels()))
    assert (await api("Hold", CallId=call_id)).message == "Command 'Hold' cannot be used here"


async def test_blind_transfer_sends_the_other_party_to_the_target(api):
    call_id = await call_in_call(api, "101", "102")

    answer = await api("BlindTransfer", CallId=call_id, TransferorParty="caller", Target="103")

    assert answer.code == 200, answer.text
    await eventually(lambda: any({"PJSIP/102", "PJSIP/103"} <= g for g in bridged_pairs()))
    await eventually(lambda: not any(c.tech_name == "PJSIP/101" for c in channels()))


async def test_blind_transfer_accepts_ozeki_10_misspelling_and_refuses_bad_targets(api):
    call_id = await call_in_call(api, "101", "102")
    bad = await api("BlindTransfer", CallId=call_id, TranferorParty="callee", Target="103&PJSIP/104")
    assert (bad.code, bad.message) == (302, "Missing or invalid parameter 'Target' for command 'BlindTransfer'")
    answer = await api("BlindTransfer", CallId=call_id, TranferorParty="callee", Target="103")
    assert answer.code == 200
    await eventually(lambda: any({"PJSIP/101", "PJSIP/103"} <= g for g in bridged_pairs()))
    await eventually(lambda: not any(c.tech_name == "PJSIP/102" for c in channels()))


async def test_attended_transfer_joins_the_two_other_parties_and_drops_the_transferor(api, receiver):
    first = await call_in_call(api, "101", "102")
    second = await call_in_call(api, "101", "103")

    answer = await api("AttendedTransfer", TransferredCallId=first, TargetCallId=second)

    assert answer.code == 200, answer.text
    await eventually(lambda: any({"PJSIP/102", "PJSIP/103"} <= g for g in bridged_pairs()))
    await eventually(lambda: not any(c.tech_name == "PJSIP/101" for c in channels()))
    # one conversation: the transferred call goes on, the target call ended as Transferred
    await eventually_async(lambda: _state_is(api, first, "InCall"))
    listed = {c.findtext("CallId") for c in (await api("ListActiveCalls")).xml.iter("Call")}
    assert second not in listed
    await receiver.wait_for(lambda p: p.get("CallId") == second and p.get("CallState") == "Transferred")
    assert (await api("Hangup", CallId=first)).code == 200
    await eventually(lambda: not channels())


async def test_forward_call_moves_a_ringing_call_to_another_number(api):
    call_id = (await api("CallSetup", Caller="101", Callee="104")).get("CallId")
    await eventually(lambda: any(c.tech_name == "PJSIP/104" and c.state == "Ringing" for c in channels()))

    answer = await api("ForwardCall", CallId=call_id, Destination="103")

    assert answer.code == 200, answer.text
    await eventually(lambda: any({"PJSIP/101", "PJSIP/103"} <= g for g in bridged_pairs()))
    await eventually(lambda: not any(c.tech_name == "PJSIP/104" for c in channels()))
    # a call that is no longer ringing cannot be forwarded (XE's name for the command)
    assert (await api("Forward", CallId=call_id, Destination="102")).code == 303


async def test_send_dtmf_reaches_the_chosen_party_in_order(api):
    call_id = await call_in_call(api, "101", "103")
    before = len(phone_dtmf("103"))

    answer = await api("SendDTMF", CallId=call_id, Party="callee", Keys="1234#*")

    assert answer.code == 200, answer.text
    await eventually(lambda: len(phone_dtmf("103")) - before >= 6, timeout=8)
    assert "".join(phone_dtmf("103")[before:]) == "1234#*"
    bad = await api("SendDTMF", CallId=call_id, Party="callee", Keys="12x")
    assert bad.code == 302


BASIC = {"Authorization": "Basic " + base64.b64encode(b"HTTP_User_1:qwe123").decode()}


async def test_record_makes_a_file_served_to_authenticated_clients_only(api, receiver, http):
    call_id = await call_in_call(api, "101", "102")
    bad = await api("Record", CallId=call_id, Format="ogg")
    assert bad.code == 302

    answer = await api("Record", CallId=call_id, Format="wav", FinishedURL=receiver.url)
    assert answer.code == 200, answer.text
    await asyncio.sleep(2.0)
    assert (await api("Hangup", CallId=call_id)).code == 200

    post = await receiver.wait_for(lambda p: p.get("NotificationName") == "RecordCompleted"
                                   and p.get("CallId") == call_id)
    assert post["Format"] == "wav" and 1.5 <= float(post["Duration"]) <= 3.0, post
    url = post["RecordURL"]
    async with http.get(url) as response:
        assert response.status == 401
    async with http.get(url, params={"Username": "HTTP_User_1", "Password": "wrong"}) as response:
        assert response.status == 401
    async with http.get(url, headers=BASIC) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "audio/wav"
        audio = await response.read()
    with wave.open(io.BytesIO(audio)) as recording:
        seconds = recording.getnframes() / recording.getframerate()
        samples = array.array("h", recording.readframes(recording.getnframes()))
    assert 1.5 <= seconds <= 3.0
    assert max(abs(s) for s in samples) > 1000  # the phones' tone, not silence
    async with http.get(url.rsplit("/", 1)[0] + "/..%2F..%2Fetc%2Fpasswd",
                        headers=BASIC) as response:
        assert response.status == 404


async def test_record_as_mp3(api, receiver, http):
    call_id = await call_in_call(api, "102", "103")
    assert (await api("Record", CallId=call_id, FinishedUrl=receiver.url)).code == 200  # mp3 by default
    await asyncio.sleep(1.5)
    await api("Hangup", CallId=call_id)
    post = await receiver.wait_for(lambda p: p.get("NotificationName") == "RecordCompleted"
                                   and p.get("CallId") == call_id)
    assert post["Format"] == "mp3" and post["RecordURL"].endswith(".mp3")
    async with http.get(post["RecordURL"], params={"Username": "HTTP_User_1", "Password": "qwe123"}) as response:
        body = await response.read()
        assert response.status == 200 and response.headers["Content-Type"] == "audio/mpeg"
    assert body[:3] == b"ID3" or body[0] == 0xFF  # an MPEG audio stream


def spies() -> dict[str, str]:
    """What each Play/Speak helper channel is doing: ChanSpy data -> Playback file."""
    now = channels()
    return {c.name: c.application for c in now if c.name.startswith("Local/play@ast-bridge-play")}


def spy_targets() -> list[str]:
    out = asterisk_cli("core show channels concise")
    return [line.split("!")[6] for line in out.splitlines() if line.split("!")[5:6] == ["ChanSpy"]]


async def test_play_whispers_a_sound_file_to_the_chosen_party_only(api):
    call_id = await call_in_call(api, "101", "102")
    callee = next(c.name for c in channels() if c.tech_name == "PJSIP/102")

    answer = await api("Play", CallId=call_id, Party="callee", AudioFile="beep.wav")

    assert answer.code == 200, answer.text
    # whisper mode (w) on the callee's channel: only the callee hears it
    assert await eventually(lambda: spy_targets() == [f"{callee},qEw"])
    # the 1.5 s beep ends, and so does the helper; the call goes on
    await eventually(lambda: not spies(), timeout=6)
    assert any({"PJSIP/101", "PJSIP/102"} <= g for g in bridged_pairs())


async def test_play_to_all_barges_in_and_refuses_files_outside_the_sound_folder(api):
    call_id = await call_in_call(api, "101", "103")
    caller = next(c.name for c in channels() if c.tech_name == "PJSIP/101")
    for name in ("../ast_bridge.db", "/etc/passwd", "sounds/../../x.wav", "missing.wav"):
        answer = await api("Play", CallId=call_id, Party="all", AudioFile=name)
        assert (answer.code, answer.message) == (302, "Missing or invalid parameter 'AudioFile' for command 'Play'")
    assert not spies()

    assert (await api("Play", CallId=call_id, Party="all", AudioFile="hello.mp3")).code == 200
    assert await eventually(lambda: spy_targets() == [f"{caller},qEB"])


async def test_play_downloads_an_http_url(api, http):
    from aiohttp import web
    served = (RUN / "sounds" / "beep.wav").read_bytes()
    app = web.Application()

    async def prompt(request: web.Request) -> web.Response:
        return web.Response(body=served, content_type="audio/wav")
    app.router.add_get("/prompt.wav", prompt)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 9598).start()
    try:
        call_id = await call_in_call(api, "102", "103")
        answer = await api("Play", CallId=call_id, Party="caller", AudioFile="http://127.0.0.1:9598/prompt.wav")
        assert answer.code == 200, answer.text
        await eventually(lambda: len(spy_targets()) == 1)
        missing = await api("Play", CallId=call_id, Party="caller", AudioFile="http://127.0.0.1:9598/none.wav")
        assert missing.code == 302
    finally:
        await runner.cleanup()


async def test_speak_says_text_to_the_chosen_party(api):
    call_id = await call_in_call(api, "101", "102")
    caller = next(c.name for c in channels() if c.tech_name == "PJSIP/101")

    answer = await api("Speak", CallId=call_id, Party="caller", Text="Jürgen, your call is being recorded",
                       Language="en-us")

    assert answer.code == 200, answer.text
    assert await eventually(lambda: spy_targets() == [f"{caller},qEw"])
    bad = await api("Speak", CallId=call_id, Text="hi", Language="--help")
    assert (bad.code, bad.message) == (302, "Missing or invalid parameter 'Language' for command 'Speak'")


PHONE_MEDIA_PORT = {"101": 6010, "102": 6020, "103": 6030}


async def test_play_is_heard_by_the_chosen_party_and_not_by_the_other(api):
    call_id = await call_in_call(api, "101", "102")
    capture = asyncio.create_task(asyncio.to_thread(capture_rtp, [6010, 6020], 1.4))
    await asyncio.sleep(0.1)
    assert (await api("Play", CallId=call_id, Party="callee", AudioFile="beep.wav")).code == 200
    heard = await capture

    assert len(heard[6020]) > 4000 and len(heard[6010]) > 4000, {p: len(s) for p, s in heard.items()}
    callee_beep, caller_beep = tone_power(heard[6020], 1000), tone_power(heard[6010], 1000)
    print("1 kHz power heard: callee %.0f, caller %.0f" % (callee_beep, caller_beep))
    assert callee_beep > 20 * max(caller_beep, 1.0), (callee_beep, caller_beep)
    # both still hear each other's phone (440 Hz): the call was not disturbed
    assert tone_power(heard[6010], 440) > 20 * max(caller_beep, 1.0)


SPEECH_BANDS = (600, 900, 1200, 1500, 2000, 2500)


async def test_speak_is_heard_by_the_chosen_party_and_not_by_the_other(api):
    call_id = await call_in_call(api, "101", "102")
    capture = asyncio.create_task(asyncio.to_thread(capture_rtp, [6010, 6020], 2.0))
    await asyncio.sleep(0.1)
    answer = await api("Speak", CallId=call_id, Party="caller", Text="one two three four five six seven")
    assert answer.code == 200, answer.text
    heard = await capture

    caller_speech = sum(tone_power(heard[6010], f) for f in SPEECH_BANDS)
    callee_speech = sum(tone_power(heard[6020], f) for f in SPEECH_BANDS)
    print("speech power heard: caller %.0f, callee %.0f" % (caller_speech, callee_speech))
    assert caller_speech > 20 * max(callee_speech, 1.0), (caller_speech, callee_speech)
