"""Serve an app for ``server.py``: s2-local's app or the bare baseline app, on s2-local's
own HTTP layer (on the loop ``s2-local serve`` would use: uvloop where installed) or on
plain hypercorn 0.18 (the reference, on asyncio's loop: untuned but for the settings that
would make it drop requests or log each one).

Usage: ``python serve_app.py {s2,bare} {own,hypercorn}``; prints the endpoint, serves until
terminated.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from typing import Any

from baseline_app import app as bare_app
from s2_local import event_loop
from s2_local.http.limits import Limits
from s2_local.http.listener import HttpServer, Lifespan
from s2_local.server import build_app


async def serve_own(app: Any, sock: socket.socket, stop: asyncio.Event) -> None:
    http = HttpServer(app, Limits())
    async with Lifespan(app):
        await http.start(sock)
        await stop.wait()
        await http.close()


async def serve_hypercorn(app: Any, sock: socket.socket, stop: asyncio.Event) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    config.keep_alive_max_requests = sys.maxsize  # else it drops requests in flight
    await serve(app, config, shutdown_trigger=stop.wait)


def main() -> None:
    which, layer = sys.argv[1], sys.argv[2]
    app = build_app() if which == "s2" else bare_app
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        serve = serve_own if layer == "own" else serve_hypercorn
        await serve(app, sock, stop)

    event_loop.run(run(), None if layer == "own" else "asyncio")


if __name__ == "__main__":
    main()
