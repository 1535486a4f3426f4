"""A wrong type anywhere in the public API is an S2ClientError from the call that sends it
(never a TypeError or AttributeError from inside the client), and records are not checked
when built: only when a batch is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from s2_sdk import (
    S2,
    AppendInput,
    CommandRecord,
    Endpoints,
    ReadLimit,
    Record,
    Retry,
    S2Basin,
    S2ClientError,
    S2Stream,
    SeqNum,
    Timeout,
)

Call = Callable[[S2, S2Basin, S2Stream], Any]
WRONG: dict[str, Call] = {
    "basin name int": lambda s2, b, st: s2.create_basin(123),
    "basin None": lambda s2, b, st: s2.basin(None),
    "stream name int": lambda s2, b, st: b.stream(123),
    "str body": lambda s2, b, st: st.append(AppendInput([Record("x")])),
    "records not a list": lambda s2, b, st: st.append(AppendInput(Record(b"x"))),
    "bytes for records": lambda s2, b, st: st.append(AppendInput([b"x"])),
    "str header": lambda s2, b, st: st.append(AppendInput([Record(b"x", headers=[("a", "b")])])),
    "one-element header": lambda s2, b, st: st.append(AppendInput([Record(b"x", headers=[(b"a",)])])),
    "float timestamp": lambda s2, b, st: st.append(AppendInput([Record(b"x", timestamp=1.5)])),
    "negative match_seq_num": lambda s2, b, st: st.append(AppendInput([Record(b"x")], match_seq_num=-1)),
    "list for an input": lambda s2, b, st: st.append([Record(b"x")]),
    "int start": lambda s2, b, st: st.read(start=5),
    "str limit": lambda s2, b, st: st.read(start=SeqNum(0), limit=ReadLimit(count="3")),
    "str wait": lambda s2, b, st: st.read(start=SeqNum(0), wait="3"),
    "dict config": lambda s2, b, st: b.create_stream("c", config={"a": 1}),
    "None config": lambda s2, b, st: s2.reconfigure_basin(b.name, config=None),
    "None scope": lambda s2, b, st: s2.issue_access_token("x", scope=None),
    "str list limit": lambda s2, b, st: s2.list_basins(limit="5"),
    "str metric set": lambda s2, b, st: s2.account_metrics(set="account-ops"),
    "dict stream_config": lambda s2, b, st: st.append(AppendInput([Record(b"x")], stream_config={})),
    "int batching": lambda s2, b, st: st.producer(batching=5),
    "str fencing token": lambda s2, b, st: st.producer(fencing_token=5),
    "no attempts": lambda s2, b, st: S2("t", retry=Retry(max_attempts=0)),
    "zero timeout": lambda s2, b, st: S2("t", timeout=Timeout(request=Timeout().request * 0)),
    "int endpoint": lambda s2, b, st: Endpoints(1, 2),
    "int fence token": lambda s2, b, st: CommandRecord.fence(5),
    "str trim": lambda s2, b, st: CommandRecord.trim("5"),
}  # fmt: skip


@pytest.mark.parametrize("name", WRONG)
async def test_a_wrong_type_is_a_client_error(name: str, s2: S2, stream: S2Stream) -> None:
    basin = s2.basin(stream._basin.name)
    with pytest.raises(S2ClientError):
        result = WRONG[name](s2, basin, stream)
        if isinstance(result, Awaitable):
            await result
    assert (await stream.check_tail()).seq_num == 0  # nothing was appended


def test_records_are_built_unchecked() -> None:
    record = Record("not bytes", headers="nor a list", timestamp=-1)  # type: ignore[arg-type]
    assert record.body == "not bytes"
    first, second = Record(b"a"), Record(b"b")
    first.headers.append((b"k", b"v"))
    assert second.headers == []  # no shared default
