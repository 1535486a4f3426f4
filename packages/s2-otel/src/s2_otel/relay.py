"""Forwarding telemetry from an S2 stream to an OTLP/HTTP collector, resumably.

The relay remembers the last forwarded sequence number in a checkpoint stream
(``<stream>.relay-checkpoint`` by default), appended with ``match_seq_num`` so two
relays cannot both advance it: once per read batch forwarded, or every
``checkpoint_every`` records within a long one. A restart resumes after the checkpoint;
at most the records forwarded since it (fewer than ``checkpoint_every``) can be sent
twice.

Needs the ``relay`` extra (``pip install "s2-otel[relay]"``, for ``httpx``).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import time
from typing import TYPE_CHECKING, Any

from s2_sdk import AppendInput, Record, S2ServerError, SeqNum, TailOffset
from s2_sdk.protocol import ErrorCode
from s2_sdk.sync import S2, connect

from s2_otel.reader import signal_of

if TYPE_CHECKING:
    import httpx

__all__ = ["relay"]


def _checkpoint(client: S2, basin: str, stream: str) -> tuple[int, int]:
    """(next seq num to forward, the checkpoint stream's tail)."""
    target = client[basin][stream]
    try:
        tail = target.check_tail().seq_num
    except S2ServerError as e:
        if e.code != ErrorCode.STREAM_NOT_FOUND:
            raise
        client[basin].create_stream(stream)
        return 0, 0
    if tail == 0:
        return 0, 0
    last = target.read(start=TailOffset(1)).records[-1]
    return int(json.loads(last.body)["seq_num"]) + 1, tail


def relay(
    basin: str,
    stream: str,
    otlp_endpoint: str,
    *,
    checkpoint_stream: str | None = None,
    follow: bool = True,
    client: S2 | None = None,
    headers: dict[str, str] | None = None,
    retry_delay: float = 1.0,
    checkpoint_every: int = 100,
) -> int:
    """Forward every record after the checkpoint to the collector's OTLP/HTTP endpoint of
    its signal (``/v1/traces``, ``/v1/logs`` or ``/v1/metrics``), in its encoding.

    A collector answering 429, 502, 503 or 504 (or unreachable) is retried as OTLP says:
    after its ``Retry-After``, else with a backoff from ``retry_delay`` doubling up to 30 s.
    Any other refusal stops the relay with an error.

    Returns the number of records forwarded (when ``follow`` is False, at the tail).
    """
    try:
        import httpx
    except ImportError as e:
        raise ImportError('the relay needs httpx: pip install "s2-otel[relay]"') from e
    client = client or connect()
    checkpoints = checkpoint_stream or f"{stream}.relay-checkpoint"
    start, cp_tail = _checkpoint(client, basin, checkpoints)
    base = otlp_endpoint.rstrip("/")
    forwarded = 0
    with httpx.Client(timeout=30, headers=headers) as http:
        session = client[basin][stream].read_session(
            start=SeqNum(start), clamp_to_tail=True, wait=None if follow else 0
        )
        with session:
            for batch in session:
                unmarked = 0
                for record in batch.records:
                    if not record.is_command_record():
                        content_type = dict(record.headers).get(
                            b"content-type", b"application/x-protobuf"
                        )
                        url = f"{base}/v1/{signal_of(record)}"
                        _post(http, url, record.body, content_type.decode(), retry_delay)
                        forwarded += 1
                    unmarked += 1
                    if unmarked == checkpoint_every or record is batch.records[-1]:
                        mark = json.dumps({"seq_num": record.seq_num}).encode()
                        client[basin][checkpoints].append(
                            AppendInput([Record(body=mark)], match_seq_num=cp_tail)
                        )
                        cp_tail += 1
                        unmarked = 0
    return forwarded


_RETRYABLE = frozenset({429, 502, 503, 504})
_MAX_DELAY = 30.0


def _post(http: httpx.Client, url: str, body: bytes, content_type: str, delay: float) -> None:
    import httpx

    while True:
        try:
            resp = http.post(url, content=body, headers={"content-type": content_type})
        except httpx.TransportError:
            resp = None
        if resp is not None and resp.status_code < 300:
            return
        if resp is not None and resp.status_code not in _RETRYABLE:
            raise RuntimeError(f"the collector refused {url}: {resp.status_code} {resp.text}")
        wait = _retry_after(resp.headers.get("retry-after")) if resp is not None else None
        time.sleep(delay if wait is None else min(wait, _MAX_DELAY))
        delay = min(delay * 2, _MAX_DELAY)


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delay-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.datetime.now(datetime.UTC)).total_seconds(), 0.0)


def main(argv: list[str] | None = None) -> None:
    """``python -m s2_otel relay BASIN STREAM --otlp-endpoint URL``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m s2_otel")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser(
        "relay", help="forward spans, logs or metrics from S2 to an OTLP/HTTP collector"
    )
    cmd.add_argument("basin")
    cmd.add_argument("stream")
    cmd.add_argument("--otlp-endpoint", required=True, help="collector base URL")
    cmd.add_argument("--checkpoint-stream", help="default: <stream>.relay-checkpoint")
    cmd.add_argument("--once", action="store_true", help="stop at the tail instead of following")
    cmd.add_argument(
        "--checkpoint-every", type=int, default=100, help="most records between checkpoints"
    )
    args = parser.parse_args(argv)
    kwargs: dict[str, Any] = {
        "checkpoint_stream": args.checkpoint_stream,
        "follow": not args.once,
        "checkpoint_every": args.checkpoint_every,
    }
    try:
        count = relay(args.basin, args.stream, args.otlp_endpoint, **kwargs)
    except KeyboardInterrupt:
        return
    print(f"forwarded {count} records")
