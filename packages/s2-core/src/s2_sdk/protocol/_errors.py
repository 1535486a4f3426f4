"""The S2 API's error codes: the ``code`` of an error body, its HTTP status and retry rules."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorCode"]


class ErrorCode(StrEnum):
    """An error code of the S2 API (``{"code": ..., "message": ...}`` bodies).

    Members compare equal to their strings, so ``error.code == ErrorCode.STREAM_NOT_FOUND``
    works on the plain ``str`` codes a client receives (a server may send codes this
    enum does not know; those stay plain strings).
    """

    BAD_HEADER = "bad_header"
    BAD_PATH = "bad_path"
    BAD_QUERY = "bad_query"
    BAD_JSON = "bad_json"
    BAD_PROTO = "bad_proto"
    BAD_FRAME = "bad_frame"
    DECRYPTION_FAILED = "decryption_failed"
    AUTHN = "authn"
    PERMISSION_DENIED = "permission_denied"
    QUOTA_EXHAUSTED = "quota_exhausted"
    ACCESS_TOKEN_NOT_FOUND = "access_token_not_found"
    BASIN_NOT_FOUND = "basin_not_found"
    STREAM_NOT_FOUND = "stream_not_found"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    RESOURCE_ALREADY_EXISTS = "resource_already_exists"
    BASIN_DELETION_PENDING = "basin_deletion_pending"
    STREAM_DELETION_PENDING = "stream_deletion_pending"
    TRANSACTION_CONFLICT = "transaction_conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    CLIENT_HANGUP = "client_hangup"
    OTHER = "other"
    STORAGE = "storage"
    NOT_IMPLEMENTED = "not_implemented"
    HOT_SERVER = "hot_server"
    SERVER_DRAINING = "server_draining"
    UNAVAILABLE = "unavailable"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UNKNOWN = "unknown"
    """Not sent by servers: what a client reports for an error body without a code."""

    @property
    def status(self) -> int:
        """The HTTP status a server answers this code with."""
        return _STATUS[self]

    @property
    def retryable(self) -> bool:
        """Whether a request failing with this code may succeed when retried."""
        return self in _RETRYABLE

    @property
    def side_effect_free(self) -> bool:
        """Whether a request failing with this code is guaranteed to have done nothing."""
        return self in _SIDE_EFFECT_FREE


_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_HEADER: 400,
    ErrorCode.BAD_PATH: 400,
    ErrorCode.BAD_QUERY: 400,
    ErrorCode.BAD_JSON: 400,
    ErrorCode.BAD_PROTO: 400,
    ErrorCode.BAD_FRAME: 400,
    ErrorCode.DECRYPTION_FAILED: 400,
    ErrorCode.AUTHN: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.QUOTA_EXHAUSTED: 403,
    ErrorCode.ACCESS_TOKEN_NOT_FOUND: 404,
    ErrorCode.BASIN_NOT_FOUND: 404,
    ErrorCode.STREAM_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.RESOURCE_ALREADY_EXISTS: 409,
    ErrorCode.BASIN_DELETION_PENDING: 409,
    ErrorCode.STREAM_DELETION_PENDING: 409,
    ErrorCode.TRANSACTION_CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.INVALID: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.CLIENT_HANGUP: 499,
    ErrorCode.OTHER: 500,
    ErrorCode.STORAGE: 500,
    ErrorCode.NOT_IMPLEMENTED: 501,
    ErrorCode.HOT_SERVER: 502,
    ErrorCode.SERVER_DRAINING: 503,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.UPSTREAM_TIMEOUT: 504,
    ErrorCode.UNKNOWN: 500,
}

_RETRYABLE = frozenset(
    {
        ErrorCode.REQUEST_TIMEOUT,
        ErrorCode.TRANSACTION_CONFLICT,
        ErrorCode.RATE_LIMITED,
        ErrorCode.OTHER,
        ErrorCode.STORAGE,
        ErrorCode.HOT_SERVER,
        ErrorCode.SERVER_DRAINING,
        ErrorCode.UNAVAILABLE,
        ErrorCode.UPSTREAM_TIMEOUT,
    }
)

_SIDE_EFFECT_FREE = frozenset(
    code
    for code, status in _STATUS.items()
    if (400 <= status < 500 and code not in (ErrorCode.CLIENT_HANGUP, ErrorCode.REQUEST_TIMEOUT))
    or code in (ErrorCode.NOT_IMPLEMENTED, ErrorCode.HOT_SERVER, ErrorCode.SERVER_DRAINING)
)
