"""The error vocabulary of the S2 API, as s2-local answers it."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["STATUS_BY_CODE", "ApiError", "ConditionFailed", "Unwritten"]

STATUS_BY_CODE: dict[str, int] = {
    "bad_frame": 400,
    "bad_header": 400,
    "bad_json": 400,
    "bad_path": 400,
    "bad_proto": 400,
    "bad_query": 400,
    "decryption_failed": 400,
    "authn": 401,
    "permission_denied": 403,
    "quota_exhausted": 403,
    "access_token_not_found": 404,
    "basin_not_found": 404,
    "stream_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "basin_deletion_pending": 409,
    "resource_already_exists": 409,
    "stream_deletion_pending": 409,
    "transaction_conflict": 409,
    "payload_too_large": 413,
    "invalid": 422,
    "rate_limited": 429,
    "client_hangup": 499,
    "other": 500,
    "storage": 500,
    "not_implemented": 501,
    "hot_server": 502,
    "server_draining": 503,
    "unavailable": 503,
    "upstream_timeout": 504,
}


class ApiError(Exception):
    """An error answered as ``{"code", "message"}`` with the code's HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """HTTP status of this error."""
        return STATUS_BY_CODE[self.code]

    def body(self) -> bytes:
        """The JSON error body."""
        return json.dumps({"code": self.code, "message": self.message}).encode()


class ConditionFailed(ApiError):
    """412: a fencing token or ``match_seq_num`` did not match (special body, no code)."""

    def __init__(self, *, fencing_token: str | None = None, seq_num: int | None = None) -> None:
        super().__init__("condition_failed", "append condition failed")
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
        super().__init__("unwritten", "read position is not yet written")
        self.tail = (seq_num, timestamp)

    @property
    def status(self) -> int:
        return 416

    def body(self) -> bytes:
        seq_num, timestamp = self.tail
        return json.dumps({"tail": {"seq_num": seq_num, "timestamp": timestamp}}).encode()
