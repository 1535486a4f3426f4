"""s2_sdk.patterns and the published TypeScript patterns read each other's streams: the
TypeScript writer's messages (one over 3 MiB, one batch appended twice as a retry would)
read by our reader exactly once each, and our writer's read by the TypeScript reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from interop_clients import OFFICIAL_NODE_PATTERNS, official_node, run_script
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import AppendInput, Record, S2Basin, SeqNum
from s2_sdk.patterns import (
    DeserializingReadSession,
    SerializingAppendSession,
    json_deserializer,
    json_serializer,
)

HERE = Path(__file__).parent / "interop"
pytestmark = pytest.mark.interop

MESSAGES: list[dict[str, Any]] = [
    {"n": 0, "text": "hello"},
    {"n": 1, "blob": "0123456789" * 350_000},
    {"n": 2, "text": "after the big one", "unicode": "h\u00e9llo \u2713"},
]


@pytest.fixture(scope="module")
def node_home() -> Path:
    home = official_node(OFFICIAL_NODE_PATTERNS)
    if home is None:
        pytest.skip("Node.js and npm are needed for the TypeScript patterns interop test")
    shutil.copy(HERE / "patterns_node.mjs", home / "patterns_node.mjs")
    return home


def _node(home: Path, endpoint: str, basin: str, stream: str, *args: str) -> Any:
    argv = ["node", str(home / "patterns_node.mjs"), endpoint, basin, stream, *args]
    return json.loads(run_script(argv, cwd=home))


async def test_typescript_writes_we_read_each_message_once(
    basin: S2Basin, node_home: Path, s2_server: S2TestServer
) -> None:
    await basin.create_stream("from-ts")
    endpoint = s2_server.account_endpoint
    written = _node(node_home, endpoint, basin.name, "from-ts", "write")
    (start, end) = written["ranges"][1]
    assert end - start == 4  # 3.5 MB in 1 MiB records
    stream = basin["from-ts"]
    # a retry that appended the last message's records twice
    last = (await stream.read(start=SeqNum(written["ranges"][2][0]))).records
    await stream.append(AppendInput([Record(r.body, list(r.headers)) for r in last]))
    session = stream.read_session(start=SeqNum(0), wait=0)
    async with DeserializingReadSession(session, json_deserializer) as reader:
        read = [message async for message in reader]
    assert read == MESSAGES
    assert reader.duplicates == len(last) and reader.dropped == 0


async def test_we_write_typescript_reads(
    basin: S2Basin, node_home: Path, s2_server: S2TestServer
) -> None:
    await basin.create_stream("from-py")
    async with SerializingAppendSession(
        basin["from-py"].append_session(), json_serializer
    ) as writer:
        ranges = [await writer.submit(message) for message in MESSAGES]
    assert [r.end - r.start for r in ranges] == [1, 4, 1]
    endpoint = s2_server.account_endpoint
    got = _node(node_home, endpoint, basin.name, "from-py", "read", str(ranges[-1].end))
    assert got["messages"] == MESSAGES
