"""ListExtensions / ListExtensionTypes against the lab's real Asterisk: its five PJSIP
endpoints 101..105 (static contacts, qualify off: all Connected)."""

from __future__ import annotations

from .conftest import XE_URL

LAB_EXTENSIONS = ["101", "102", "103", "104", "105"]


def summaries(answer) -> list[dict[str, str]]:
    extensions = answer.xml.find("Extensions")
    assert extensions is not None, answer.text
    return [{child.tag: child.text or "" for child in summary} for summary in extensions]


async def test_list_extensions_o10(api):
    answer = await api("ListExtensions")
    assert (answer.status, answer.code) == (200, 200), answer.text
    listed = summaries(answer)
    assert [list(s) for s in listed] == [["Id", "PhoneNumber", "Type", "State"]] * len(LAB_EXTENSIONS)
    assert listed == [{"Id": f"{n}@localhost", "PhoneNumber": n, "Type": "Phone", "State": "Connected"}
                      for n in LAB_EXTENSIONS]


async def test_list_extensions_o10_type_filter(api):
    everything = summaries(await api("ListExtensions"))
    assert summaries(await api("ListExtensions", Type="phone")) == everything
    empty = await api("ListExtensions", Type="IVR extension")
    assert empty.code == 200
    assert summaries(empty) == []
    assert "<Extensions />" in empty.text


async def test_list_extensions_xe(api):
    answer = await api("ListExtensions", url=XE_URL)
    assert (answer.status, answer.code) == (200, 200), answer.text
    assert summaries(answer) == [{"Id": n, "Type": "SIP"} for n in LAB_EXTENSIONS]
    assert [list(s) for s in summaries(answer)] == [["Id", "Type"]] * len(LAB_EXTENSIONS)


async def test_list_extension_types_both_dialects(api):
    for url, kind in ((None, "Phone"), (XE_URL, "SIP")):
        answer = await (api("ListExtensionTypes") if url is None else api("ListExtensionTypes", url=url))
        assert (answer.status, answer.code) == (200, 200), answer.text
        types = answer.xml.find("ExtensionTypes")
        assert types is not None, answer.text
        assert [(child.tag, child.text) for child in types] == [("ExtensionType", kind)]
