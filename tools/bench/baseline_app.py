"""A bare ASGI app that answers the S2 data plane without storing anything.

It is the transport floor for ``server.py``: same protocol, same framing, no
sequencing or storage (``serve_app.py`` serves it).
"""

from __future__ import annotations

from typing import Any

from s2_sdk.protocol import FrameDecoder, encode_frame, pb

_HEADERS = [(b"content-type", b"s2s/proto")]
_TAIL = b'{"tail":{"seq_num":0,"timestamp":0}}'
_JSON = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_TAIL))]
_BATCH = pb.ReadBatch(
    records=[pb.SequencedRecord(seq_num=i, timestamp=i, body=b"b" * 1024) for i in range(1000)]
).SerializeToString()


def _ack(start: int, n: int) -> bytes:
    pos = {"seq_num": start, "timestamp": 1}
    end = {"seq_num": start + n, "timestamp": 1}
    return pb.AppendAck(start=pos, end=end, tail=end).SerializeToString()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                await send({"type": msg["type"] + ".complete"})
                if msg["type"] == "lifespan.shutdown":
                    return
        return
    s2s = any(k == b"content-type" and v == b"s2s/proto" for k, v in scope["headers"])
    if scope["path"].endswith("/tail"):
        await send({"type": "http.response.start", "status": 200, "headers": _JSON})
        await send({"type": "http.response.body", "body": _TAIL})
    elif scope["method"] == "POST" and s2s:
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        decoder, seq = FrameDecoder(), 0
        while True:
            msg = await receive()
            for frame in decoder.feed(msg.get("body", b"")):
                n = len(pb.AppendInput.FromString(frame.payload).records)
                await send(
                    {
                        "type": "http.response.body",
                        "body": encode_frame(_ack(seq, n)),
                        "more_body": True,
                    }
                )
                seq += n
            if not msg.get("more_body"):
                break
        await send({"type": "http.response.body", "body": b""})
    elif scope["method"] == "POST":
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        n = len(pb.AppendInput.FromString(body).records)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/protobuf")],
            }
        )
        await send({"type": "http.response.body", "body": _ack(0, n)})
    else:
        query = dict(p.split("=") for p in scope["query_string"].decode().split("&") if "=" in p)
        count = int(query.get("count", "1000"))
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        for _ in range(count // 1000):
            await send(
                {"type": "http.response.body", "body": encode_frame(_BATCH), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
