"""The error vocabulary of the S2 API, as s2-local answers it."""

from __future__ import annotations

import json
from typing import Any

from s2_sdk.protocol import ErrorCode

__all__ = ["ApiError", "ConditionFailed", "Unwritten"]


class ApiError(Exception):
    """An error answered as ``{"code", "message"}`` with the code's HTTP status (the
    412 and 416 answers have bodies of their own and no code)."""

    def __init__(self, code: ErrorCode | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """HTTP status of this error."""
        assert self.code is not None  # the code-less answers override this
        return self.code.status

    def body(self) -> bytes:
        """The JSON error body."""
        return json.dumps({"code": self.code, "message": self.message}).encode()


class ConditionFailed(ApiError):
    """412: a fencing token or ``match_seq_num`` did not match (special body, no code)."""

    def __init__(self, *, fencing_token: str | None = None, seq_num: int | None = None) -> None:
        super().__init__(None, "append condition failed")
        self._payload: dict[str, Any] = (
            {"fencing_token_mismatch": fencing_token}
            if fencing_token is not None
            else {"seq_num_mismatch": seq_num}
        )

    @property
    def status(self) -> int:
        return 412

    def body(self) -> bytes:
        return json.dumps(self._payload).encode()


class Unwritten(ApiError):
    """416: the read starts past what the stream holds (special body with the tail)."""

    def __init__(self, seq_num: int, timestamp: int) -> None:
        super().__init__(None, "read position is not yet written")
        self.tail = (seq_num, timestamp)

    @property
    def status(self) -> int:
        return 416

    def body(self) -> bytes:
        seq_num, timestamp = self.tail
        return json.dumps({"tail": {"seq_num": seq_num, "timestamp": timestamp}}).encode()
