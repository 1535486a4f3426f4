"""JSON record encoding (``s2-format: raw | base64``) for appends, reads and SSE."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from s2_sdk.protocol import MAX_FENCING_TOKEN_BYTES, ErrorCode, pb

from s2_local.errors import ApiError

__all__ = ["Format", "append_input_from_json", "parse_format", "read_batch_to_json"]

Format = Literal["raw", "base64"]
_FORMATS: dict[str, Format] = {
    "raw": "raw",
    "json": "raw",
    "base64": "base64",
    "json-binsafe": "base64",
}


def parse_format(value: str | None) -> Format:
    """The ``s2-format`` header (default ``raw``).

    Raises:
        ApiError: ``bad_header`` for an unknown format.
    """
    if value is None:
        return "raw"
    fmt = _FORMATS.get(value.strip())
    if fmt is None:
        raise ApiError(ErrorCode.BAD_HEADER, f"invalid s2-format {value!r}: expected raw or base64")
    return fmt


def _decode(value: Any, fmt: Format, what: str) -> bytes:
    if not isinstance(value, str):
        raise ApiError(ErrorCode.BAD_JSON, f"{what} must be a string")
    if fmt == "raw":
        return value.encode()
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ApiError(ErrorCode.INVALID, f"invalid Base64 encoding in {what}") from e


def _encode(value: bytes, fmt: Format) -> str:
    if fmt == "raw":
        return value.decode(errors="replace")
    return base64.b64encode(value).decode()


def _u64(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise ApiError(ErrorCode.BAD_JSON, f"{what} must be an unsigned 64-bit integer")
    return value


def append_input_from_json(obj: Any, fmt: Format) -> pb.AppendInput:
    """Convert a JSON ``AppendInput`` to protobuf.

    Raises:
        ApiError: ``bad_json`` for a wrong shape, ``invalid`` for bad base64.
    """
    if not isinstance(obj, dict):
        raise ApiError(ErrorCode.BAD_JSON, "append input must be a JSON object")
    records = obj.get("records")
    if not isinstance(records, list):
        raise ApiError(ErrorCode.BAD_JSON, "`records` must be an array")
    inp = pb.AppendInput()
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ApiError(ErrorCode.BAD_JSON, f"records[{i}] must be an object")
        out = inp.records.add()
        if rec.get("timestamp") is not None:
            out.timestamp = _u64(rec["timestamp"], f"records[{i}].timestamp")
        headers = rec.get("headers") or []
        if not isinstance(headers, list):
            raise ApiError(ErrorCode.BAD_JSON, f"records[{i}].headers must be an array")
        for h in headers:
            if not isinstance(h, list) or len(h) != 2:
                raise ApiError(
                    ErrorCode.BAD_JSON, f"records[{i}].headers entries must be [name, value]"
                )
            out.headers.add(
                name=_decode(h[0], fmt, "header name"), value=_decode(h[1], fmt, "header value")
            )
        if rec.get("body") is not None:
            out.body = _decode(rec["body"], fmt, "body")
    if obj.get("match_seq_num") is not None:
        inp.match_seq_num = _u64(obj["match_seq_num"], "match_seq_num")
    token = obj.get("fencing_token")
    if token is not None:
        if not isinstance(token, str):
            raise ApiError(ErrorCode.BAD_JSON, "fencing_token must be a string")
        if len(token.encode()) > MAX_FENCING_TOKEN_BYTES:
            raise ApiError(
                ErrorCode.BAD_JSON, f"fencing_token exceeds {MAX_FENCING_TOKEN_BYTES} bytes"
            )
        inp.fencing_token = token
    return inp


def read_batch_to_json(batch: pb.ReadBatch, fmt: Format) -> dict[str, Any]:
    """Convert a protobuf ``ReadBatch`` to JSON (empty headers and bodies are omitted)."""
    records = []
    for r in batch.records:
        rec: dict[str, Any] = {"seq_num": r.seq_num, "timestamp": r.timestamp}
        if r.headers:
            rec["headers"] = [[_encode(h.name, fmt), _encode(h.value, fmt)] for h in r.headers]
        if r.body:
            rec["body"] = _encode(r.body, fmt)
        records.append(rec)
    out: dict[str, Any] = {"records": records}
    if batch.HasField("tail"):
        out["tail"] = {"seq_num": batch.tail.seq_num, "timestamp": batch.tail.timestamp}
    return out
