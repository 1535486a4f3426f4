"""Client-side validation: bad input fails before anything is sent."""

from __future__ import annotations

from s2_sdk._errors import S2ClientError
from s2_sdk._records import AppendInput, ReadLimit, Record, metered_bytes
from s2_sdk.protocol import (
    MAX_BATCH_METERED_BYTES,
    MAX_BATCH_RECORDS,
    MAX_FENCING_TOKEN_BYTES,
    access_token_id_error,
    basin_name_error,
    location_name_error,
    stream_name_error,
)

__all__ = [
    "check_access_token",
    "check_access_token_id",
    "check_append_input",
    "check_basin",
    "check_location",
    "check_read_limits",
    "check_stream",
    "check_u64",
]

_U64 = 2**64


def _check(error: str | None) -> None:
    if error:
        raise S2ClientError(error)


def check_access_token(token: object) -> None:
    """Access tokens: text that can travel in a header (no control characters or
    surrounding whitespace), so a bad one fails here, not as a protocol error."""
    if not isinstance(token, str):
        raise S2ClientError("access_token must be a str")
    if token != token.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise S2ClientError(
            "access_token must not contain control characters or surrounding whitespace"
        )


def check_basin(name: str) -> None:
    """Basin names: 8–48 characters of ``[a-z0-9-]``, no leading/trailing hyphen."""
    _check(basin_name_error(name))


def check_stream(name: str) -> None:
    """Stream names: 1–512 bytes, not ``.``/``..``, no NUL."""
    _check(stream_name_error(name))


def check_access_token_id(token_id: str) -> None:
    """Access token ids: 1–96 bytes, not ``.``/``..``, no NUL."""
    _check(access_token_id_error(token_id))


def check_location(name: str) -> None:
    """Location names: 1–64 characters of ``[A-Za-z0-9:.-]``."""
    _check(location_name_error(name))


def check_u64(value: int | None, what: str) -> None:
    """An optional unsigned 64-bit integer."""
    if value is not None and (isinstance(value, bool) or not 0 <= value < _U64):
        raise S2ClientError(f"{what} must be an unsigned 64-bit integer, got {value!r}")


def check_append_input(inp: AppendInput) -> int:
    """1–1000 records, at most 1 MiB metered, a fencing token of at most 36 bytes.

    Returns:
        The batch's metered size.
    """
    n = len(inp.records)
    if not 1 <= n <= MAX_BATCH_RECORDS:
        raise S2ClientError(f"a batch must hold 1-{MAX_BATCH_RECORDS} records, got {n}")
    size = metered_bytes(inp.records)
    if size > MAX_BATCH_METERED_BYTES:
        raise S2ClientError(f"a batch must be at most 1 MiB metered, got {size} bytes")
    if inp.fencing_token is not None and (
        len(inp.fencing_token.encode()) > MAX_FENCING_TOKEN_BYTES
    ):
        raise S2ClientError(f"fencing token exceeds {MAX_FENCING_TOKEN_BYTES} bytes")
    check_u64(inp.match_seq_num, "match_seq_num")
    for r in inp.records:
        check_u64(r.timestamp, "record timestamp")
    return size


def check_record_bytes(record: Record) -> None:
    """A record's body and header names and values must be bytes (str is a common slip)."""
    headers = record.headers
    if not isinstance(record.body, bytes) or (
        headers and not all(isinstance(n, bytes) and isinstance(v, bytes) for n, v in headers)
    ):
        raise S2ClientError("record bodies, header names and header values must be bytes")


def check_read_limits(limit: ReadLimit | None) -> None:
    """Read limits must be non-negative."""
    if limit is not None:
        check_u64(limit.count, "ReadLimit.count")
        check_u64(limit.bytes, "ReadLimit.bytes")
