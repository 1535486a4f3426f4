"""The error tree of the client.

::

    S2Error
    ├── S2ClientError                     validation, protocol violations, transport failures
    ├── AppendIndefiniteFailureError      (final_attempt_error) an earlier attempt may have applied
    └── S2ServerError (code, message, status_code)
        ├── ServerDrainingError           503 server_draining: the connection is retired
        ├── AppendConditionError          412
        │   ├── FencingTokenMismatchError (expected_fencing_token)
        │   └── SeqNumMismatchError       (expected_seq_num)
        └── ReadUnwrittenError (tail)     416

    TransportError                        the network failed (never raised to callers as is:
    ├── ConnectError                      it arrives as the ``__cause__`` of an S2ClientError,
    ├── ReadTimeoutError                  or as an AppendIndefiniteFailureError's
    ├── ConnectionClosedError             ``final_attempt_error``)
    ├── ConnectionRetiredError
    └── ProtocolError (error_code)

The constructors take the published SDK's positional arguments. Every error pickles
(Celery and multiprocessing move them between processes). The module keeps the name it
has in the published SDK, where ``ServerDrainingError``, ``AppendIndefiniteFailureError``
and the transport errors are imported from.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from s2_sdk.protocol import ErrorCode

if TYPE_CHECKING:
    from s2_sdk._records import StreamPosition

__all__ = [
    "AppendConditionError",
    "AppendIndefiniteFailureError",
    "ConnectError",
    "ConnectionClosedError",
    "ConnectionRetiredError",
    "FencingTokenMismatchError",
    "ProtocolError",
    "ReadTimeoutError",
    "ReadUnwrittenError",
    "S2ClientError",
    "S2Error",
    "S2ServerError",
    "SeqNumMismatchError",
    "ServerDrainingError",
    "TransportError",
    "fallible",
    "server_error",
]

C = TypeVar("C", bound=type)


class S2Error(Exception):
    """Base class for all S2 related exceptions."""


class S2ClientError(S2Error):
    """Error originating from the client.

    A failure of the network is raised as this error, with the
    :class:`TransportError` that caused it as ``__cause__``.
    """


class S2ServerError(S2Error):
    """Error originating from the server.

    ``str(error)`` is the server's message; the code and status are attributes (and
    part of ``repr``).

    Attributes:
        code: Error code from the server (``"unknown"`` when the response had none).
        message: Human-readable error message.
        status_code: HTTP status code.
    """

    def __init__(self, code: str, message: str, status_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self._retry_after: float | None = None
        """Seconds the server asked to wait before a retry (``retry-after-ms``)."""

    def _fields(self) -> tuple[Any, ...]:
        return (self.code, self.message, self.status_code)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"status_code={self.status_code!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._fields())


class ServerDrainingError(S2ServerError):
    """The server is draining: the connection that got this is retired, and the call
    is retried on another one without using up an attempt."""


class AppendIndefiniteFailureError(S2Error):
    """The final append attempt failed definitively, but an earlier attempt may have
    taken effect, so whether the append happened is unknown.

    Attributes:
        final_attempt_error: The definite error raised by the final attempt (also the
            ``__cause__``).
    """

    def __init__(self, final_attempt_error: BaseException) -> None:
        super().__init__(
            "append may have taken effect in an earlier attempt; "
            f"final attempt failed: {final_attempt_error}"
        )
        self.final_attempt_error = final_attempt_error
        self.__cause__ = final_attempt_error

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.final_attempt_error,))


class AppendConditionError(S2ServerError):
    """Append condition was not met."""


class FencingTokenMismatchError(AppendConditionError):
    """Fencing token did not match.

    Attributes:
        expected_fencing_token: The fencing token the server expected.
    """

    def __init__(
        self, code: str, message: str, status_code: int, expected_fencing_token: str
    ) -> None:
        super().__init__(code, message, status_code)
        self.expected_fencing_token = expected_fencing_token

    def _fields(self) -> tuple[Any, ...]:
        return (*super()._fields(), self.expected_fencing_token)


class SeqNumMismatchError(AppendConditionError):
    """Sequence number did not match.

    Attributes:
        expected_seq_num: The sequence number the server expected.
    """

    def __init__(self, code: str, message: str, status_code: int, expected_seq_num: int) -> None:
        super().__init__(code, message, status_code)
        self.expected_seq_num = expected_seq_num

    def _fields(self) -> tuple[Any, ...]:
        return (*super()._fields(), self.expected_seq_num)


class ReadUnwrittenError(S2ServerError):
    """Read from an unwritten position.

    Attributes:
        tail: The tail position of the stream.
    """

    def __init__(self, code: str, message: str, status_code: int, tail: StreamPosition) -> None:
        super().__init__(code, message, status_code)
        self.tail = tail

    def _fields(self) -> tuple[Any, ...]:
        return (*super()._fields(), self.tail)


class TransportError(Exception):
    """The network failed: connection refused, reset or closed, a timeout, a protocol error.

    Retryable. Callers see it as the ``__cause__`` of an :class:`S2ClientError`.
    """


class ConnectError(TransportError):
    """The connection (TCP, TLS or HTTP/2 handshake) could not be opened: nothing was sent."""


class ReadTimeoutError(TransportError):
    """Timed out waiting for the server (response, acknowledgement or heartbeat)."""


class ConnectionClosedError(TransportError):
    """The connection closed unexpectedly."""


class ConnectionRetiredError(TransportError):
    """The connection was retired (the server is draining): use another one."""


class ProtocolError(TransportError):
    """An HTTP/2 protocol failure: a stream reset, GOAWAY, or a malformed response.

    Attributes:
        error_code: The HTTP/2 error code, when the peer sent one.
    """

    def __init__(self, message: str, error_code: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.error_code))


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


def server_error(status: int, body: bytes, retry_after_ms: str | None = None) -> S2ServerError:
    """Map an error response (or terminal frame) to the documented exception.

    ``retry_after_ms`` is the response's ``retry-after-ms`` header, if any.
    """
    error = _server_error(status, body)
    if retry_after_ms and retry_after_ms.isascii() and retry_after_ms.isdigit():
        error._retry_after = int(retry_after_ms) / 1000
    return error


def _server_error(status: int, body: bytes) -> S2ServerError:
    from s2_sdk._records import StreamPosition

    text = body.decode(errors="replace")
    try:
        info = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        info = None
    if not isinstance(info, dict):
        return S2ServerError(ErrorCode.UNKNOWN, text, status)
    code = str(info.get("code", ErrorCode.UNKNOWN))
    message = str(info.get("message", text))
    if status == 412:
        fencing = info.get("fencing_token_mismatch")
        if isinstance(fencing, dict):
            fencing = fencing.get("expected_fencing_token")
        if fencing is not None:
            return FencingTokenMismatchError(
                code, f"Fencing token mismatch: expected {fencing!r}", status, str(fencing)
            )
        seq = info.get("seq_num_mismatch")
        if isinstance(seq, dict):
            seq = seq.get("expected_seq_num")
        if isinstance(seq, int) and not isinstance(seq, bool):
            return SeqNumMismatchError(
                code, f"Sequence number mismatch: expected {seq}", status, seq
            )
        return AppendConditionError(code, message, status)
    if status == 416:
        tail = info.get("tail")
        tail = tail if isinstance(tail, dict) else {}
        seq_num, timestamp = tail.get("seq_num", 0), tail.get("timestamp", 0)
        if not (isinstance(seq_num, int) and isinstance(timestamp, int)):
            return S2ServerError(code, message, status)
        return ReadUnwrittenError(
            code,
            f"Read from an unwritten position: tail is {seq_num} (timestamp {timestamp})",
            status,
            StreamPosition(seq_num, timestamp),
        )
    if status == 503 and code == ErrorCode.SERVER_DRAINING:
        return ServerDrainingError(code, message, status)
    return S2ServerError(code, message, status)


def _client_error(error: Exception) -> S2ClientError:
    wrapped = S2ClientError(f"{type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped


def _fallible_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except S2Error:
                raise
            except Exception as e:
                raise _client_error(e) from e

        return call
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def generate(*args: Any, **kwargs: Any) -> Any:
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except S2Error:
                raise
            except Exception as e:
                raise _client_error(e) from e

        return generate

    @functools.wraps(fn)
    def call_sync(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except S2Error:
            raise
        except Exception as e:
            raise _client_error(e) from e

    return call_sync


def fallible(*, skip: tuple[str, ...] = ()) -> Callable[[C], C]:
    """A class decorator: every public method (and ``__init__``) of the class raises only
    :class:`S2Error` s; anything else it would raise (a wrong type given by the caller, a
    transport failure) becomes an :class:`S2ClientError` with the original as its cause,
    as the published SDK's methods do. ``skip`` names hot paths that check their input
    themselves."""

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if name in skip or (name.startswith("_") and name != "__init__"):
                continue
            if inspect.isfunction(member):
                setattr(cls, name, _fallible_function(member))
        return cls

    return decorate
