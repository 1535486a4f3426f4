"""Typed messages of any size over S2, deduplicated on read: the TypeScript patterns
(``@s2-dev/streamstore-patterns``) in Python, on the same wire format.

Writing::

    from s2_sdk.patterns import SerializingAppendSession, json_serializer

    async with SerializingAppendSession(stream.append_session(), json_serializer) as writer:
        where = await writer.submit({"role": "assistant", "text": "hello"})

Reading::

    from s2_sdk.patterns import DeserializingReadSession, json_deserializer

    session = stream.read_session(start=SeqNum(0))
    async with DeserializingReadSession(session, json_deserializer) as reader:
        async for message in reader:
            ...

A message is serialized, cut into chunks of at most 1,048,477 bytes (one record each, so
that any size goes), framed by headers on its first record, and with dedupe headers (on by
default) every record carries its writer's id and sequence number, by which a reader drops
records appended twice by a retry. The building blocks are here too, for those who compose
their own: :func:`chunk_bytes`, :func:`frame_records` and :func:`parse_frame_headers`,
:func:`dedupe_headers` and :class:`DedupeFilter`, :class:`FrameAssembler`.
"""

from s2_sdk.patterns._assembly import (
    CompletedFrame,
    DedupeFilter,
    FrameAssembler,
    FrameSizeError,
)
from s2_sdk.patterns._sessions import (
    DeserializingReadSession,
    MessageRange,
    MessageTicket,
    SerializingAppendSession,
    json_deserializer,
    json_serializer,
)
from s2_sdk.patterns._wire import (
    DEDUPE_SEQ_HEADER,
    DEFAULT_MAX_FRAME_BYTES,
    FRAME_BYTES_HEADER,
    FRAME_RECORDS_HEADER,
    MAX_CHUNK_BODY_BYTES,
    WRITER_ID_HEADER,
    chunk_bytes,
    decode_u64,
    dedupe_headers,
    encode_u64,
    frame_headers,
    frame_records,
    new_writer_id,
    parse_dedupe_headers,
    parse_frame_headers,
)

__all__ = [
    "DEDUPE_SEQ_HEADER",
    "DEFAULT_MAX_FRAME_BYTES",
    "FRAME_BYTES_HEADER",
    "FRAME_RECORDS_HEADER",
    "MAX_CHUNK_BODY_BYTES",
    "WRITER_ID_HEADER",
    "CompletedFrame",
    "DedupeFilter",
    "DeserializingReadSession",
    "FrameAssembler",
    "FrameSizeError",
    "MessageRange",
    "MessageTicket",
    "SerializingAppendSession",
    "chunk_bytes",
    "decode_u64",
    "dedupe_headers",
    "encode_u64",
    "frame_headers",
    "frame_records",
    "json_deserializer",
    "json_serializer",
    "new_writer_id",
    "parse_dedupe_headers",
    "parse_frame_headers",
]
