"""A webhook receiver in its own process, so that receiving notifications does not
slow the benchmark's own client: appends `arrival CallId CallState Time` lines."""

from __future__ import annotations

import sys
import time

from aiohttp import web


def main(port: int, out_path: str) -> None:
    out = open(out_path, "a", buffering=1)

    async def collect(request: web.Request) -> web.Response:
        form = await request.post()
        out.write(f"{time.time():.6f} {form.get('CallId', '-')} {form.get('CallState', '-')} "
                  f"{form.get('Time', '-')}\n")
        return web.Response()

    app = web.Application()
    app.router.add_post("/{tail:.*}", collect)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, reuse_address=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
