"""Load held for a minute (`make soak`; not part of `make test`)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from .conftest import O10_URL, RUN, USER, XE_URL

pytestmark = pytest.mark.soak


def bridge_rss_kib() -> int:
    pid = (RUN / "bridge.pid").read_text().strip()
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def test_a_minute_of_mixed_load_without_error_and_with_flat_memory():
    requests = [
        (O10_URL, {"command": "CallSetup", "Caller": "299", "Callee": "299"}),
        (O10_URL, {"command": "ListActiveCalls"}),
        (XE_URL, {"command": "ListActiveCalls"}),
        (O10_URL, {"command": "ListCallHistory", "RowsPerPage": "50"}),
        (O10_URL, {"command": "ListExtensions"}),
    ]
    errors: list[str] = []
    done = 0
    rss: list[int] = []
    deadline = time.monotonic() + 60

    async def client(index: int) -> None:
        nonlocal done
        async with aiohttp.ClientSession() as http:
            turn = index
            while time.monotonic() < deadline:
                url, params = requests[turn % len(requests)]
                turn += 1
                async with http.get(url, params={**params, **USER}) as response:
                    body = await response.text()
                if response.status != 200 or "<Code>200</Code>" not in body:
                    errors.append(f"{params['command']}: {response.status} {body[:120]}")
                done += 1
                await asyncio.sleep(0.005)

    async def sample() -> None:
        while time.monotonic() < deadline:
            rss.append(bridge_rss_kib())
            await asyncio.sleep(5)

    await asyncio.gather(sample(), *(client(i) for i in range(8)))
    print(f"soak: {done} requests in 60 s, RSS {rss[2]} -> {rss[-1]} KiB")
    assert not errors, errors[:5]
    assert done > 3000
    assert rss[-1] - rss[2] < 20 * 1024, rss  # after warm-up, growth under 20 MiB
