"""S2S sessions: the full-duplex append session and the read session.

Both answer 200 with ``Content-Type: s2s/proto`` at once and then exchange
frames. Errors after that point end the response with a terminal frame. When their
connection drains (``drained`` is set), their frames carry "reconnect advised"; a
session still open :data:`~s2_local.drain.GRACE` seconds later ends with a terminal
``server_draining`` (an append session first acknowledges every input it took). A
session whose access token is revoked or expires ends with ``authn`` within
:data:`AUTH_CHECK_INTERVAL` seconds (``authorized`` raises it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from google.protobuf.message import DecodeError
from s2_sdk.protocol import (
    AppendInputView,
    Codec,
    ErrorCode,
    FrameDecoder,
    FrameError,
    codec_from_accept_encoding,
    encode_frame,
    encode_terminal_frame,
)

from s2_local.engine.access import permitted_commands
from s2_local.engine.reads import Batch, ReadParams, batch_payload, read_events
from s2_local.engine.stream import Ack, Stream, check_batch
from s2_local.engine.usage import Metrics
from s2_local.errors import ApiError
from s2_local.http.asgi import Request, Send
from s2_local.http.drain import GRACE

__all__ = ["append_session", "read_session", "watch_disconnect", "while_allowed"]

_HEADERS = [
    (b"content-type", b"s2s/proto"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
_END = object()


async def _start(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})


async def _frame(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _finish(send: Send, error: ApiError | None = None) -> None:
    body = encode_terminal_frame(error.status, error.body()) if error else b""
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def watch_disconnect(req: Request, work: Coroutine[Any, Any, None]) -> bool:
    """Run ``work`` (a response producer) until it ends or the client goes away.

    Returns False when the client went away first (``work`` is then cancelled);
    re-raises what ``work`` raised.
    """
    task = asyncio.ensure_future(work)

    async def wait_disconnect() -> None:
        while (await req.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(wait_disconnect())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (watcher, task):
            if not t.done():
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
    if task.cancelled():
        return False
    task.result()
    return True


AUTH_CHECK_INTERVAL = 1.0
"""How often an open session checks that its access token is still valid."""


async def _watch(drained: asyncio.Event, authorized: Callable[[], None]) -> None:
    """Raise ``server_draining`` :data:`GRACE` seconds after ``drained`` is set, or what
    ``authorized`` raises once the session's token is revoked or expires."""
    while not drained.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained.wait(), AUTH_CHECK_INTERVAL)
        authorized()
    await asyncio.sleep(GRACE)
    raise ApiError(ErrorCode.SERVER_DRAINING, "the server is draining this connection")


async def while_allowed(
    work: Coroutine[Any, Any, None], drained: asyncio.Event, authorized: Callable[[], None]
) -> None:
    """Run ``work`` while the session may go on: raise ``server_draining`` if it still runs
    once the drain grace is up, ``authn`` once its token is revoked or expires."""
    task = asyncio.ensure_future(work)
    deadline = asyncio.ensure_future(_watch(drained, authorized))
    try:
        await asyncio.wait({task, deadline}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (deadline, task):
            if not t.done():
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t
    if task.done() and not task.cancelled():
        task.result()
    else:
        deadline.result()


async def read_session(
    req: Request,
    send: Send,
    stream: Stream,
    params: ReadParams,
    key: bytes | None,
    metrics: Metrics,
    drained: asyncio.Event,
    authorized: Callable[[], None],
) -> None:
    """Stream ``ReadBatch`` frames (heartbeats are empty batches with a tail)."""
    start = params.start_seq(stream)
    metrics.read(stream.basin, 0, 0)
    codec = codec_from_accept_encoding(req.header("accept-encoding"))
    await _start(send)
    stream.sessions += 1

    async def produce() -> None:
        async with contextlib.aclosing(read_events(stream, params, start, drained)) as events:
            async for event in events:
                if isinstance(event, Batch):
                    payload = batch_payload(stream, event, event.tail, key)
                    records = event.records
                    metrics.read(stream.basin, records.count, records.metered, op=False)
                else:
                    payload = batch_payload(stream, None, event.tail, key)
                advise = drained.is_set()
                await _frame(send, encode_frame(payload, codec, reconnect_advised=advise))

    try:
        finished = await watch_disconnect(req, while_allowed(produce(), drained, authorized))
    except ApiError as e:
        await _finish(send, e)
        return
    finally:
        stream.sessions -= 1
    if finished:
        await _finish(send)


async def append_session(
    req: Request,
    send: Send,
    stream: Stream,
    key: bytes | None,
    metrics: Metrics,
    drained: asyncio.Event,
    authorized: Callable[[], None],
) -> None:
    """Take ``AppendInput`` frames, answer one ``AppendAck`` frame each, in order.

    The first failure poisons the session: later inputs are not applied, acks
    already due are sent, then the error as a terminal frame. A drain ends the session
    the same way once its grace is up: inputs not yet taken are never applied.
    """
    stream.check_read_key(key)
    codec = codec_from_accept_encoding(req.header("accept-encoding"))
    await _start(send)
    stream.sessions += 1
    pending: asyncio.Queue[Any] = asyncio.Queue()

    async def take_inputs() -> None:
        try:
            await while_allowed(take(), drained, authorized)
        except ApiError as e:  # drained or revoked: what was taken is acked, then the error
            pending.put_nowait(e)

    async def take() -> None:
        decoder = FrameDecoder()
        commands = permitted_commands(req.principal)
        while True:
            # a frame started must be finished within the body timeout; between frames
            # the session may rest as long as it likes
            message = await (req.next_chunk() if decoder.pending else req.receive())
            if message["type"] == "http.disconnect":
                pending.put_nowait(_END)
                return
            try:
                for frame in decoder.feed(message.get("body", b"")):
                    if frame.terminal:
                        raise ApiError(ErrorCode.BAD_FRAME, "Unexpected terminal frame as input")
                    try:
                        inp = AppendInputView.FromString(frame.payload)
                    except DecodeError as e:
                        raise ApiError(ErrorCode.BAD_FRAME, f"invalid AppendInput: {e}") from e
                    check_batch(inp)
                    acked, metered = stream.sequence(inp, key, commands)
                    pending.put_nowait(acked)
                    metrics.append(stream.basin, len(inp.records), metered)
            except FrameError as e:
                pending.put_nowait(ApiError(ErrorCode.BAD_FRAME, str(e)))
                return
            except ApiError as e:
                pending.put_nowait(e)
                return
            if not message.get("more_body", False):
                if decoder.pending:
                    pending.put_nowait(
                        ApiError(ErrorCode.BAD_FRAME, "truncated frame at end of input")
                    )
                else:
                    pending.put_nowait(_END)
                return

    reader = asyncio.ensure_future(take_inputs())
    try:
        while True:
            item = await pending.get()
            if item is _END:
                await _finish(send)
                return
            if isinstance(item, ApiError):
                await stream.durable()
                await _finish(send, item)
                return
            try:
                ack: Ack = await item
            except ApiError as e:
                await _finish(send, e)
                return
            payload = ack.to_proto().SerializeToString()
            advise = drained.is_set()
            await _frame(send, encode_frame(payload, Codec(codec), reconnect_advised=advise))
    finally:
        stream.sessions -= 1
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
