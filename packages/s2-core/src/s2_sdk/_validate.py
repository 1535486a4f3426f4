"""Client-side validation: bad input fails before anything is sent."""

from __future__ import annotations

from datetime import timedelta

from s2_sdk._config import StreamConfig
from s2_sdk._exceptions import S2ClientError
from s2_sdk._options import Batching, Retry, Timeout
from s2_sdk._records import AppendInput, EncodedRecord, ReadLimit, Record
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
    "access_token",
    "check_access_token_id",
    "check_append_input",
    "check_basin",
    "check_batching",
    "check_fencing_token",
    "check_location",
    "check_read_limits",
    "check_retry",
    "check_stream",
    "check_stream_config",
    "check_timeout",
    "check_u64",
    "record_size",
]

_U64 = 2**64


def _check(error: str | None) -> None:
    if error:
        raise S2ClientError(error)


def access_token(token: object) -> str:
    """An access token as sent: without surrounding whitespace (a token read from a file
    ends in a newline; the published client strips it too), and with no control
    characters inside, so a bad one fails here, not as a protocol error."""
    if not isinstance(token, str):
        raise S2ClientError("access_token must be a str")
    token = token.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise S2ClientError("access_token must not contain control characters")
    return token


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
    if value is not None and (
        type(value) is not int or not 0 <= value < _U64  # bool is not an int here
    ):
        raise S2ClientError(f"{what} must be an unsigned 64-bit integer, got {value!r}")


def record_size(record: Record) -> int:
    """A record's metered size, after checking its types: a :class:`Record` whose body,
    header names and values are bytes and whose timestamp is None or a u64.

    The metered size is :func:`s2_sdk.protocol.metered_size`, computed here in the same
    pass as the checks: a hot loop (``tests/core/test_shared_api.py`` holds the two to agreement).
    """
    if type(record) is EncodedRecord:
        return record.metered  # checked as the SDK built it
    if not isinstance(record, Record):
        raise S2ClientError(f"records must be Record instances, got {type(record).__name__}")
    body = record.body
    if not isinstance(body, bytes):
        raise S2ClientError(f"a record body must be bytes, got {type(body).__name__}")
    size = 8 + len(body)
    headers = record.headers
    if headers:
        if not isinstance(headers, list | tuple):
            raise S2ClientError("record headers must be a list of (name, value) byte pairs")
        for header in headers:
            if not (isinstance(header, tuple | list) and len(header) == 2):
                raise S2ClientError("record headers must be (name, value) byte pairs")
            name, value = header
            if not (isinstance(name, bytes) and isinstance(value, bytes)):
                raise S2ClientError("header names and values must be bytes")
            size += 2 + len(name) + len(value)
    timestamp = record.timestamp
    if timestamp is not None and (type(timestamp) is not int or not 0 <= timestamp < _U64):
        raise S2ClientError(
            f"a record timestamp must be an unsigned 64-bit integer, got {timestamp!r}"
        )
    return size


def check_fencing_token(token: str | None) -> None:
    """An optional fencing token: a str of at most 36 bytes."""
    if token is None:
        return
    if not isinstance(token, str):
        raise S2ClientError(f"a fencing token must be a str, got {type(token).__name__}")
    if len(token.encode()) > MAX_FENCING_TOKEN_BYTES:
        raise S2ClientError(f"fencing token exceeds {MAX_FENCING_TOKEN_BYTES} bytes")


def check_append_input(inp: AppendInput) -> int:
    """An :class:`AppendInput` of 1–1000 well-typed records, at most 1 MiB metered, with
    a fencing token of at most 36 bytes and a u64 ``match_seq_num``.

    Returns:
        The batch's metered size.
    """
    if not isinstance(inp, AppendInput):
        raise S2ClientError(f"expected an AppendInput, got {type(inp).__name__}")
    records = inp.records
    if not isinstance(records, list | tuple):
        raise S2ClientError("AppendInput.records must be a list of Record")
    n = len(records)
    if not 1 <= n <= MAX_BATCH_RECORDS:
        raise S2ClientError(f"a batch must hold 1-{MAX_BATCH_RECORDS} records, got {n}")
    size = 0
    for record in records:
        size += record_size(record)
    if size > MAX_BATCH_METERED_BYTES:
        raise S2ClientError(f"a batch must be at most 1 MiB metered, got {size} bytes")
    check_fencing_token(inp.fencing_token)
    check_u64(inp.match_seq_num, "match_seq_num")
    check_stream_config(inp.stream_config)
    return size


def check_stream_config(config: StreamConfig | None) -> None:
    """An optional :class:`StreamConfig`."""
    if config is not None and not isinstance(config, StreamConfig):
        raise S2ClientError(f"stream_config must be a StreamConfig, got {type(config).__name__}")


def check_timeout(timeout: Timeout) -> None:
    """Positive timeouts."""
    if not isinstance(timeout, Timeout):
        raise S2ClientError(f"timeout must be a Timeout, got {type(timeout).__name__}")
    for value in (timeout.request, timeout.connection):
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise S2ClientError("Timeout.request and Timeout.connection must be positive")


def check_retry(retry: Retry) -> None:
    """At least one attempt, and ``0 <= min_base_delay <= max_base_delay``."""
    if not isinstance(retry, Retry):
        raise S2ClientError(f"retry must be a Retry, got {type(retry).__name__}")
    if type(retry.max_attempts) is not int or retry.max_attempts < 1:
        raise S2ClientError(f"Retry.max_attempts must be at least 1, got {retry.max_attempts!r}")
    low, high = retry.min_base_delay, retry.max_base_delay
    if not (isinstance(low, timedelta) and isinstance(high, timedelta)) or not (
        timedelta(0) <= low <= high
    ):
        raise S2ClientError("Retry delays must satisfy 0 <= min_base_delay <= max_base_delay")


def check_batching(batching: Batching) -> None:
    """1–1000 records, 8 bytes to 1 MiB, and a non-negative linger."""
    if not isinstance(batching, Batching):
        raise S2ClientError(f"batching must be a Batching, got {type(batching).__name__}")
    if type(batching.max_records) is not int or not 1 <= batching.max_records <= 1000:
        raise S2ClientError(
            f"Batching.max_records must be between 1 and 1000, got {batching.max_records!r}"
        )
    if type(batching.max_bytes) is not int or not 8 <= batching.max_bytes <= 1024 * 1024:
        raise S2ClientError(
            f"Batching.max_bytes must be between 8 and 1 MiB, got {batching.max_bytes!r}"
        )
    if not isinstance(batching.linger, timedelta) or batching.linger < timedelta(0):
        raise S2ClientError("Batching.linger must be a non-negative timedelta")


def check_read_limits(limit: ReadLimit | None) -> None:
    """Read limits must be non-negative."""
    if limit is not None:
        check_u64(limit.count, "ReadLimit.count")
        check_u64(limit.bytes, "ReadLimit.bytes")
