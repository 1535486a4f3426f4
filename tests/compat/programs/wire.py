"""The same calls, made by whichever ``s2_sdk`` runs this, against a recording server.

``python wire.py ENDPOINT``: every call fails (the server answers 404), so each sends
exactly one request, whose headers the test compares between the published client and
``s2-core``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from s2_sdk import (
    S2,
    AppendInput,
    Endpoints,
    ReadLimit,
    Record,
    Retry,
    S2Error,
    S2Stream,
    SeqNum,
    StreamConfig,
)

ENDPOINT = sys.argv[1]
KEY = base64.b64encode(bytes(range(32))).decode()


async def read_one(stream: S2Stream) -> None:
    async for _ in stream.read_session(start=SeqNum(0), limit=ReadLimit(count=1)):
        pass


async def append_one(stream: S2Stream) -> None:
    async with stream.append_session() as session:
        await (await session.submit(AppendInput([Record(b"z")])))


async def main() -> None:
    # a token read from a file ends in a newline
    endpoints = Endpoints(ENDPOINT, ENDPOINT)
    async with S2("token-from-a-file\n", endpoints=endpoints, retry=Retry(1)) as s2:
        basin = s2["wire-basin"]
        stream = basin.stream("wire-stream", encryption_key=KEY)
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: s2.list_basins(prefix="wire"),
            lambda: basin.get_stream_config("wire-stream"),
            lambda: stream.check_tail(),
            lambda: stream.append(AppendInput([Record(b"x", headers=[(b"k", b"v")])])),
            lambda: stream.append(
                AppendInput([Record(b"y")], stream_config=StreamConfig(retention_policy=60))
            ),
            lambda: stream.read(start=SeqNum(0), limit=ReadLimit(count=1)),
            lambda: stream.read(
                start=SeqNum(0), stream_config=StreamConfig(storage_class="express")
            ),
            lambda: read_one(stream),
            lambda: append_one(stream),
        ]
        for call in calls:
            with contextlib.suppress(S2Error):
                await call()


asyncio.run(main())
