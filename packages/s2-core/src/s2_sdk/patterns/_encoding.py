"""A writer's records, built with their headers already encoded: the hot path of
:class:`~s2_sdk.patterns.SerializingAppendSession`, where every record's headers differ
(its dedupe sequence number) and so miss the SDK's cache of header encodings."""

from __future__ import annotations

from s2_sdk._records import EncodedRecord
from s2_sdk.patterns._wire import (
    DEDUPE_SEQ_HEADER,
    FRAME_BYTES_HEADER,
    FRAME_RECORDS_HEADER,
    WRITER_ID_HEADER,
    chunk_bytes,
)
from s2_sdk.protocol import metered_size, pb

__all__ = ["RecordBuilder"]


def _encoded(headers: list[tuple[bytes, bytes]]) -> bytes:
    """``headers`` as protobuf encodes them in an ``AppendRecord``."""
    return pb.AppendRecord(
        headers=[pb.Header(name=n, value=v) for n, v in headers]
    ).SerializeToString()


def _encoded_prefix(name: bytes, length: int = 8) -> bytes:
    """The encoding of header ``name`` with a ``length``-byte value, up to that value
    (which protobuf writes last)."""
    return _encoded([(name, bytes(length))])[:-length]


_FRAME_RECORDS = _encoded_prefix(FRAME_RECORDS_HEADER)
_FRAME_BYTES = _encoded_prefix(FRAME_BYTES_HEADER)
_DEDUPE_SEQ = _encoded_prefix(DEDUPE_SEQ_HEADER)
_BARE = metered_size((), b"")
_FRAME_METERED = (
    metered_size([(FRAME_RECORDS_HEADER, bytes(8)), (FRAME_BYTES_HEADER, bytes(8))], b"") - _BARE
)

_ONE_RECORD = (FRAME_RECORDS_HEADER, (1).to_bytes(8, "big"))
_ONE_RECORD_BLOCK = _FRAME_RECORDS + _ONE_RECORD[1] + _FRAME_BYTES


class RecordBuilder:
    """Builds a message's records (frame headers on the first, dedupe headers on each
    when a sequence number is given) as :class:`~s2_sdk._records.EncodedRecord`."""

    def __init__(self, writer_id: str) -> None:
        writer = (WRITER_ID_HEADER, writer_id.encode())
        self._writer = writer
        self._writer_block = _encoded([writer])
        self._dedupe_metered = metered_size([(DEDUPE_SEQ_HEADER, bytes(8)), writer], b"") - _BARE
        self._one_record_metered = _BARE + _FRAME_METERED + self._dedupe_metered

    def one(self, payload: bytes, dedupe_seq: int) -> EncodedRecord:
        """The record of a message that fits one (frame and dedupe headers on it)."""
        total = len(payload)
        value = dedupe_seq.to_bytes(8, "big")
        size_value = total.to_bytes(8, "big")
        pairs = (_ONE_RECORD, (FRAME_BYTES_HEADER, size_value),
                 (DEDUPE_SEQ_HEADER, value), self._writer)  # fmt: skip
        block = b"".join((_ONE_RECORD_BLOCK, size_value, _DEDUPE_SEQ, value, self._writer_block))
        # a tuple, not the list a Record is declared with (see EncodedRecord)
        return EncodedRecord(payload, pairs, None, self._one_record_metered + total, block)  # type: ignore[arg-type]

    def build(
        self, payload: bytes, chunk_size: int, dedupe_seq: int | None
    ) -> tuple[list[EncodedRecord], int | None]:
        """The records of ``payload`` (at least one byte), and the dedupe sequence number
        after them."""
        total = len(payload)
        if total <= chunk_size and dedupe_seq is not None:  # one record, the common case
            return [self.one(payload, dedupe_seq)], dedupe_seq + 1
        chunks = chunk_bytes(payload, chunk_size)
        count = len(chunks).to_bytes(8, "big")
        writer, writer_block = self._writer, self._writer_block
        seq = dedupe_seq
        records = []
        # the first record carries the frame headers; the others start bare
        headers = [(FRAME_RECORDS_HEADER, count), (FRAME_BYTES_HEADER, total.to_bytes(8, "big"))]
        block = _FRAME_RECORDS + count + _FRAME_BYTES + headers[1][1]
        size = _BARE + _FRAME_METERED
        for chunk in chunks:
            size += len(chunk)
            if seq is not None:
                value = seq.to_bytes(8, "big")
                headers.append((DEDUPE_SEQ_HEADER, value))
                headers.append(writer)
                block += _DEDUPE_SEQ + value + writer_block
                size += self._dedupe_metered
                seq += 1
            records.append(EncodedRecord(chunk, headers, None, size, block))
            headers, block, size = [], b"", _BARE
        return records, seq
