"""A bare ASGI app on hypercorn that answers the S2 data plane without storing anything.

It is the transport floor for ``server.py``: same protocol, same framing, no
sequencing or storage. Usage: python baseline_app.py PORT_FILE.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from s2_local.http.hypercorn_tuning import tune
from s2_sdk.protocol import FrameDecoder, encode_frame, pb

_HEADERS = [(b"content-type", b"s2s/proto")]
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
    if scope["method"] == "POST" and s2s:
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


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    config = Config()
    tune(config)  # same transport settings as s2-local
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    asyncio.run(serve(app, config))  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
