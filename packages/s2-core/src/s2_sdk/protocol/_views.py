"""Other views of the same wire messages, for hot paths: each parses and serializes the
bytes of its counterpart in :mod:`pb`, but exposes a header as the raw bytes of its
``Header`` encoding (or a record's headers as one optional field) instead of a message.

- :data:`AppendInputView` — ``AppendInput`` whose records' ``headers`` are
  ``repeated bytes``: a server reads and re-encodes headers without a message each.
- :data:`ReadBatchView` — ``ReadBatch`` likewise: what a server stores and answers.
- :data:`ReadBatchProbe` — ``ReadBatch`` whose records have ``headers`` as one optional
  ``bytes`` field (present when the record has any header): a client turns records
  without headers into objects without building a headers container for each.
- :data:`ReadBatchJoined` — ``ReadBatch`` whose records have ``headers`` as one message
  without fields, present when the record has any header: protobuf merges every header
  into it, and its ``SerializeToString()`` is the record's header encodings joined (one
  bytes object where the other views make one per header).

Raw header bytes decode with ``pb.Header.FromString``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["AppendInputView", "ReadBatchJoined", "ReadBatchProbe", "ReadBatchView"]

_U64, _STRING, _BYTES, _MESSAGE = 4, 9, 12, 11  # FieldDescriptorProto.Type
_SINGULAR, _REPEATED = 1, 3
_PACKAGE = "s2_sdk.views"


def _message(file: Any, name: str, fields: list[tuple[str, int, int, int, str]]) -> None:
    """Add a message; fields are (name, number, type, label, message type or "" or "?",
    where "?" marks a proto3 ``optional`` field, with presence)."""
    message = file.message_type.add(name=name)
    for field_name, number, kind, label, extra in fields:
        field = message.field.add(name=field_name, number=number, type=kind, label=label)
        if extra == "?":
            field.proto3_optional = True
            field.oneof_index = len(message.oneof_decl)
            message.oneof_decl.add(name=f"_{field_name}")
        elif extra:
            field.type_name = f".{_PACKAGE}.{extra}"


def _classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="s2_sdk/views.proto", package=_PACKAGE, syntax="proto3"
    )
    _message(file, "Position", [("seq_num", 1, _U64, _SINGULAR, ""),
                                ("timestamp", 2, _U64, _SINGULAR, "")])  # fmt: skip
    _message(file, "AppendRecordView", [("timestamp", 1, _U64, _SINGULAR, "?"),
                                        ("headers", 2, _BYTES, _REPEATED, ""),
                                        ("body", 3, _BYTES, _SINGULAR, "")])  # fmt: skip
    _message(file, "AppendInputView", [("records", 1, _MESSAGE, _REPEATED, "AppendRecordView"),
                                       ("match_seq_num", 2, _U64, _SINGULAR, "?"),
                                       ("fencing_token", 3, _STRING, _SINGULAR, "?")])  # fmt: skip
    _message(file, "HeaderBlock", [])
    for batch, record, headers in (
        ("ReadBatchView", "SequencedRecordView", (_BYTES, _REPEATED, "")),
        ("ReadBatchProbe", "RecordProbe", (_BYTES, _SINGULAR, "?")),
        ("ReadBatchJoined", "RecordJoined", (_MESSAGE, _SINGULAR, "HeaderBlock")),
    ):  # a ReadBatch whose records' headers are declared some other way
        _message(file, record, [("seq_num", 1, _U64, _SINGULAR, ""),
                                ("timestamp", 2, _U64, _SINGULAR, ""),
                                ("headers", 3, *headers),
                                ("body", 4, _BYTES, _SINGULAR, "")])  # fmt: skip
        _message(file, batch, [("records", 1, _MESSAGE, _REPEATED, record),
                               ("tail", 2, _MESSAGE, _SINGULAR, "Position")])  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in ("AppendInputView", "ReadBatchView", "ReadBatchProbe", "ReadBatchJoined")
    }


_CLASSES = _classes()
AppendInputView: Any = _CLASSES["AppendInputView"]
ReadBatchView: Any = _CLASSES["ReadBatchView"]
ReadBatchProbe: Any = _CLASSES["ReadBatchProbe"]
ReadBatchJoined: Any = _CLASSES["ReadBatchJoined"]
