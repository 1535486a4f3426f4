"""Data-plane handlers: append, read (unary JSON/protobuf and SSE) and check-tail."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable
from typing import Literal

from google.protobuf.message import DecodeError
from s2_sdk.protocol import AppendInputView, ErrorCode, pb

from s2_local.engine.access import permitted_commands
from s2_local.engine.account import Account
from s2_local.engine.config import StreamConfig, parse_stream_config
from s2_local.engine.crypto import parse_key_header
from s2_local.engine.parsing import parse_json
from s2_local.engine.reads import Batch, ReadParams, batch_payload, read_events
from s2_local.engine.stream import Stream, check_batch
from s2_local.errors import ApiError
from s2_local.http.asgi import Request, Send, respond, respond_json
from s2_local.http.control_plane import path_stream
from s2_local.http.drain import Drain
from s2_local.http.formats import append_input_from_json, parse_format, read_batch_to_json
from s2_local.http.sessions import append_session, read_session, watch_disconnect, while_allowed

__all__ = ["RecordHandlers"]

PROTO_TYPES = ("application/protobuf", "application/x-protobuf")
S2S = "s2s/proto"
_STREAMING_HEADERS = [("cache-control", "no-cache, no-transform"), ("x-accel-buffering", "no")]


@functools.lru_cache(maxsize=64)
def _stream_config(raw: str) -> StreamConfig:
    """An ``s2-stream-config`` header, parsed (once per distinct value: a client such as
    s2-celery sends the same one with every request).

    Raises:
        ApiError: ``bad_header`` for a header that is not a stream config.
    """
    try:
        return parse_stream_config(parse_json(raw, ErrorCode.BAD_HEADER, "s2-stream-config"))
    except (ValueError, ApiError) as e:
        raise ApiError(ErrorCode.BAD_HEADER, f"invalid s2-stream-config: {e}") from e


class RecordHandlers:
    """``/v1/streams/{stream}/records`` routes."""

    def __init__(self, account: Account, drain: Drain) -> None:
        self.account = account
        self.drain = drain

    def _authorized(self, req: Request) -> Callable[[], None]:
        """A check a session repeats: its token is still valid (raises ``authn``)."""
        return functools.partial(self.account.tokens.check, req.principal)

    async def _stream(
        self, req: Request, basin: str, name: str, on: Literal["append", "read", "check-tail"]
    ) -> Stream:
        """The stream named in the path, after authorizing ``on`` for the caller.

        ``s2-stream-config`` applies if the stream is auto-created.
        """
        name = req.principal.auto_prefix + path_stream(name)
        req.principal.authorize(on, basin=basin, stream=name)
        raw = req.header("s2-stream-config")
        config = None if raw is None else _stream_config(raw)
        return await self.account.data_stream(
            basin, name, "append" if on == "append" else "read", config
        )

    async def append(self, req: Request, send: Send, basin: str, name: str) -> None:
        content_type = req.media_type("content-type")
        key = parse_key_header(req.header("s2-encryption-key"))
        if content_type == S2S:
            stream = await self._stream(req, basin, name, "append")
            drained = self.drain.signal(req.client)
            await append_session(
                req, send, stream, key, self.account.metrics, drained, self._authorized(req)
            )
            return
        if content_type in PROTO_TYPES:
            data = await req.body(ErrorCode.BAD_PROTO)
        else:
            fmt = parse_format(req.header("s2-format"))
            data = append_input_from_json(await req.json(), fmt).SerializeToString()
        try:
            inp = AppendInputView.FromString(data)
        except DecodeError as e:
            raise ApiError(ErrorCode.BAD_PROTO, f"invalid AppendInput: {e}") from e
        check_batch(inp)
        stream = await self._stream(req, basin, name, "append")
        ack, metered = await stream.append(inp, key, permitted_commands(req.principal))
        self.account.metrics.append(basin, len(inp.records), metered)
        if req.media_type("accept") in PROTO_TYPES:
            await respond(send, 200, ack.to_proto().SerializeToString(), "application/protobuf")
        else:
            await respond_json(send, 200, ack.to_json())

    async def read(self, req: Request, send: Send, basin: str, name: str) -> None:
        params = ReadParams.from_query(req.query)
        key = parse_key_header(req.header("s2-encryption-key"))
        if req.media_type("content-type") == S2S:
            stream = await self._stream(req, basin, name, "read")
            stream.check_read_key(key)
            drained = self.drain.signal(req.client)
            metrics, authorized = self.account.metrics, self._authorized(req)
            await read_session(req, send, stream, params, key, metrics, drained, authorized)
            return
        if req.media_type("accept") == "text/event-stream":
            await self._sse(req, send, basin, name, params, key)
            return
        fmt = parse_format(req.header("s2-format"))
        params = params.bounded(unary=True)
        stream = await self._stream(req, basin, name, "read")
        stream.check_read_key(key)
        start = params.start_seq(stream)
        got: Batch | None = None
        unary = read_events(stream, params, start, session=False)
        async with contextlib.aclosing(unary) as events:
            async for event in events:
                if isinstance(event, Batch):
                    got = event
                    break
        payload = batch_payload(stream, got, got.tail if got else None, key)
        if got is None:
            self.account.metrics.read(basin, 0, 0)
        else:
            self.account.metrics.read(basin, got.records.count, got.records.metered)
        if req.media_type("accept") in PROTO_TYPES:
            await respond(
                send,
                200,
                payload,
                "application/protobuf",
                accept_encoding=req.header("accept-encoding"),
            )
        else:
            await respond_json(
                send,
                200,
                read_batch_to_json(pb.ReadBatch.FromString(payload), fmt),
                accept_encoding=req.header("accept-encoding"),
            )

    async def tail(self, req: Request, send: Send, basin: str, name: str) -> None:
        stream = await self._stream(req, basin, name, "check-tail")
        seq_num, timestamp = stream.tail
        await respond_json(send, 200, {"tail": {"seq_num": seq_num, "timestamp": timestamp}})

    async def _sse(
        self,
        req: Request,
        send: Send,
        basin: str,
        name: str,
        params: ReadParams,
        key: bytes | None,
    ) -> None:
        fmt = parse_format(req.header("s2-format"))
        last_event_id = req.header("last-event-id")
        if last_event_id:
            params = params.resumed(last_event_id)
        stream = await self._stream(req, basin, name, "read")
        stream.check_read_key(key)
        start = params.start_seq(stream)
        metrics = self.account.metrics
        metrics.read(basin, 0, 0)
        headers = [(b"content-type", b"text/event-stream")] + [
            (k.encode(), v.encode()) for k, v in _STREAMING_HEADERS
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def events() -> None:
            count = size = 0
            async with contextlib.aclosing(read_events(stream, params, start)) as stream_events:
                async for event in stream_events:
                    if isinstance(event, Batch):
                        count += event.records.count
                        size += event.records.metered
                        metrics.read(basin, event.records.count, event.records.metered, op=False)
                        payload = batch_payload(stream, event, event.tail, key)
                        data = json.dumps(read_batch_to_json(pb.ReadBatch.FromString(payload), fmt))
                        text = (
                            f"event: batch\nid: {event.records.last_seq},{count},{size}\n"
                            f"data: {data}\n\n"
                        )
                    else:
                        ping = {
                            "timestamp": self.account.clock.now_ms(),
                            "tail": {"seq_num": event.tail[0], "timestamp": event.tail[1]},
                        }
                        text = f"event: ping\ndata: {json.dumps(ping)}\n\n"
                    await send(
                        {"type": "http.response.body", "body": text.encode(), "more_body": True}
                    )

        try:
            drained = self.drain.signal(req.client)
            allowed = while_allowed(events(), drained, self._authorized(req))
            finished = await watch_disconnect(req, allowed)
        except ApiError as e:
            body = f"event: error\ndata: {e.body().decode()}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if finished:
            done = b"data: [DONE]\n\n"
            await send({"type": "http.response.body", "body": done, "more_body": False})
