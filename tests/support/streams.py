"""Reading whole streams back in tests (through the blocking client)."""

from __future__ import annotations

from s2_sdk import SeqNum, SequencedRecord
from s2_sdk.sync import S2


def records(client: S2, basin: str, stream: str) -> list[SequencedRecord]:
    """Every record of a stream, from the first to the tail."""
    target = client[basin][stream]
    tail = target.check_tail().seq_num
    out: list[SequencedRecord] = []
    while len(out) < tail:
        out += target.read(start=SeqNum(len(out))).records
    return out
