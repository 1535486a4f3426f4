"""The error tree of the client.

::

    S2Error
    ├── S2ClientError                  validation, protocol violations, transport failures
    └── S2ServerError (code, message, status_code)
        ├── AppendConditionError       412
        │   ├── FencingTokenMismatchError (expected_fencing_token)
        │   └── SeqNumMismatchError       (expected_seq_num)
        └── ReadUnwrittenError (tail)  416

Every error pickles (Celery and multiprocessing move them between processes).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2_sdk._records import StreamPosition

__all__ = [
    "AppendConditionError",
    "FencingTokenMismatchError",
    "ReadUnwrittenError",
    "S2ClientError",
    "S2Error",
    "S2ServerError",
    "SeqNumMismatchError",
    "server_error",
]


class S2Error(Exception):
    """Base class for all S2 related exceptions."""


class S2ClientError(S2Error):
    """Error originating from the client."""


class S2ServerError(S2Error):
    """Error originating from the server.

    Attributes:
        code: Error code from the server (``"unknown"`` when the response had none).
        message: Human-readable error message.
        status_code: HTTP status code.
    """

    def __init__(self, code: str, message: str, status_code: int) -> None:
        super().__init__(f"{message} (code={code}, status={status_code})")
        self.code = code
        self.message = message
        self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.status_code))


class AppendConditionError(S2ServerError):
    """Append condition was not met."""


class FencingTokenMismatchError(AppendConditionError):
    """Fencing token did not match.

    Attributes:
        expected_fencing_token: The fencing token the server expected.
    """

    def __init__(self, expected_fencing_token: str, status_code: int = 412) -> None:
        super().__init__(
            "unknown", f"Fencing token mismatch: expected {expected_fencing_token!r}", status_code
        )
        self.expected_fencing_token = expected_fencing_token

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.expected_fencing_token, self.status_code))


class SeqNumMismatchError(AppendConditionError):
    """Sequence number did not match.

    Attributes:
        expected_seq_num: The sequence number the server expected.
    """

    def __init__(self, expected_seq_num: int, status_code: int = 412) -> None:
        super().__init__(
            "unknown", f"Sequence number mismatch: expected {expected_seq_num}", status_code
        )
        self.expected_seq_num = expected_seq_num

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.expected_seq_num, self.status_code))


class ReadUnwrittenError(S2ServerError):
    """Read from an unwritten position.

    Attributes:
        tail: The tail position of the stream.
    """

    def __init__(self, tail: StreamPosition, status_code: int = 416) -> None:
        super().__init__(
            "unknown",
            f"Read from an unwritten position: tail is {tail.seq_num} (timestamp {tail.timestamp})",
            status_code,
        )
        self.tail = tail

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.tail, self.status_code))


for _cls in (
    S2Error,
    S2ClientError,
    S2ServerError,
    AppendConditionError,
    FencingTokenMismatchError,
    SeqNumMismatchError,
    ReadUnwrittenError,
):
    _cls.__module__ = "s2_sdk"


def server_error(status: int, body: bytes) -> S2ServerError:
    """Map an error response (or terminal frame) to the documented exception."""
    from s2_sdk._records import StreamPosition

    try:
        info = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return S2ServerError("unknown", body.decode(errors="replace"), status)
    if not isinstance(info, dict):
        return S2ServerError("unknown", body.decode(errors="replace"), status)
    if status == 412:
        fencing = info.get("fencing_token_mismatch")
        if isinstance(fencing, dict):
            fencing = fencing.get("expected_fencing_token")
        if fencing is not None:
            return FencingTokenMismatchError(str(fencing), status)
        seq = info.get("seq_num_mismatch")
        if isinstance(seq, dict):
            seq = seq.get("expected_seq_num")
        if seq is not None:
            return SeqNumMismatchError(int(seq), status)
        return AppendConditionError(
            str(info.get("code", "unknown")), str(info.get("message", body.decode())), status
        )
    if status == 416:
        tail = info.get("tail") or {}
        return ReadUnwrittenError(
            StreamPosition(int(tail.get("seq_num", 0)), int(tail.get("timestamp", 0))), status
        )
    return S2ServerError(
        str(info.get("code", "unknown")), str(info.get("message", body.decode())), status
    )
