"""The examples of the API reference, run as written against s2-local."""

from __future__ import annotations

from s2_local.pytest_plugin import S2TestServer
from s2_sdk import S2, AppendInput, Endpoints, Record, SeqNum
from support.rest import unique_basin


async def test_reference_examples(s2_server: S2TestServer) -> None:
    token = s2_server.access_token
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    name = unique_basin()
    async with S2(token, endpoints=endpoints) as s2:
        await s2.create_basin(name)
        await s2[name].create_stream("my-stream")
        stream = s2[name]["my-stream"]

        async with stream.append_session() as session:
            ticket = await session.submit(AppendInput(records=[Record(body=b"first")]))
            ack = await ticket
        assert (ack.start.seq_num, ack.end.seq_num) == (0, 1)

        async with stream.producer() as p:
            ticket = await p.submit(Record(body=b"hello"))
            ack = await ticket
        assert ack.seq_num == 1

        batch = await s2[name]["my-stream"].read(start=SeqNum(0))
        assert [r.body for r in batch.records] == [b"first", b"hello"]
        await s2.delete_basin(name)
