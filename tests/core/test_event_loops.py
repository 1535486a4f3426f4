"""The client on either event loop users run: asyncio's own and uvloop (its socket layer
receives into one reused buffer, which both loops fill through ``BufferedProtocol``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import S2, AppendInput, Endpoints, ReadLimit, Record, SeqNum
from support.rest import unique_basin

Runner = Callable[[Coroutine[Any, Any, list[bytes]]], list[bytes]]


def _uvloop_run(main: Coroutine[Any, Any, list[bytes]]) -> list[bytes]:
    uvloop = pytest.importorskip("uvloop")
    result: list[bytes] = uvloop.run(main)
    return result


@pytest.mark.parametrize("run", [asyncio.run, _uvloop_run], ids=["asyncio", "uvloop"])
def test_large_records_round_trip_on_each_loop(s2_server: S2TestServer, run: Runner) -> None:
    """Records of up to ~1 MiB, many in a batch, come back byte for byte from a unary read
    and a read session (S2S frames spanning many socket reads and HTTP/2 DATA frames)."""
    bodies = [bytes([i]) * size for i, size in enumerate([1, 70_000, 1_000_000, 300_000, 5])]
    bodies.append(bytes(range(256)) * 3000)  # incompressible-ish, 768,000 bytes

    async def main() -> list[bytes]:
        endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
        async with S2(s2_server.access_token, endpoints=endpoints) as s2:
            name = unique_basin()
            await s2.create_basin(name)
            await s2[name].create_stream("big")
            stream = s2[name]["big"]
            for body in bodies:
                await stream.append(AppendInput([Record(body)]))
            unary = (await stream.read(start=SeqNum(2), limit=ReadLimit(count=1))).records
            assert [r.body for r in unary] == [bodies[2]]
            got = []
            session = stream.read_session(start=SeqNum(0), limit=ReadLimit(count=len(bodies)))
            async for batch in session:
                got += [r.body for r in batch.records]
            await s2.delete_basin(name)
            return got

    assert run(main()) == bodies
