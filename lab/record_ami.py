"""Record Asterisk's AMI event stream while a scenario runs, for replay in tests.

    .venv/bin/python lab/record_ami.py OUT.ami -- CMD...

logs in as the lab's AMI user, runs CMD (e.g. a curl to the bridge) and keeps
recording until no channel is left, then writes the raw stream (the Login
response and everything after it) to OUT.ami.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time


async def record(out: str, cmd: list[str], settle: float = 1.0, limit: float = 60.0) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", 5038)
    await reader.readline()  # banner
    writer.write(b"Action: Login\r\nUsername: ast_bridge\r\nSecret: ast_bridge_secret\r\nEvents: on\r\n\r\n")
    chunks: list[bytes] = []
    started = time.monotonic()
    last = time.monotonic()

    async def pump() -> None:
        nonlocal last
        while True:
            data = await reader.read(65536)
            if not data:
                return
            chunks.append(data)
            last = time.monotonic()

    task = asyncio.create_task(pump())
    await asyncio.sleep(0.3)
    await asyncio.to_thread(subprocess.run, cmd, check=False)
    while time.monotonic() - started < limit:
        await asyncio.sleep(0.2)
        if time.monotonic() - last > settle:
            break
    task.cancel()
    writer.close()
    with open(out, "wb") as f:
        f.write(b"".join(chunks))


if __name__ == "__main__":
    sep = sys.argv.index("--")
    asyncio.run(record(sys.argv[1], sys.argv[sep + 1:]))
