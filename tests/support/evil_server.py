"""An HTTP/2 server that answers every request with whatever the test tells it to.

It speaks correct HTTP/2 (h2c, prior knowledge) and nothing else: status, headers
and body are the test's choice, so a client's handling of odd responses can be
checked over a real connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from faults.background import BackgroundServer
from hpack import NeverIndexedHeaderTuple


@dataclass
class Seen:
    """A request as it arrived: its headers in order (values decoded), which of them
    were sent HPACK never-indexed, and its body."""

    headers: list[tuple[str, str]]
    never_indexed: set[str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


@dataclass
class Answer:
    """The response every request gets."""

    status: int | str = 200
    headers: list[tuple[str | bytes, str | bytes]] = field(default_factory=list)
    body: bytes = b""
    endless: bool = False
    """Never end the response (after the headers and body)."""
    reset: bool = False
    """Reset the stream after the headers and body instead of ending the response."""
    trickle: float = 0.0
    """Send the body a byte at a time, this many seconds apart (never ending the response)."""
    flood: bool = False
    """Send zeros for ever, as fast as the client's flow-control windows let them go."""


class EvilServer(BackgroundServer):
    """Serves :attr:`answer` on ``127.0.0.1:<port>`` from its own thread."""

    def __init__(self, *, max_concurrent_streams: int | None = None, delay: float = 0.0) -> None:
        super().__init__("evil-server")
        self.answer = Answer()
        self.max_concurrent_streams = max_concurrent_streams
        self.delay = delay
        """Seconds each answer waits."""
        self.connections = 0
        self.requests: list[Seen] = []
        """Every request received, in order."""
        self.script: deque[tuple[Answer, float]] = deque()
        """Answers (and their delays) for the next requests, before :attr:`answer`."""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        config = h2.config.H2Configuration(client_side=False, validate_outbound_headers=False)
        conn = h2.connection.H2Connection(config)  # sends even malformed headers
        conn.initiate_connection()
        if self.max_concurrent_streams is not None:
            conn.update_settings(
                {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_concurrent_streams}
            )
        writer.write(conn.data_to_send())

        def answer(stream_id: int, reply: Answer) -> None:
            with contextlib.suppress(h2.exceptions.H2Error):
                self._respond(conn, stream_id, reply, lambda: writer.write(conn.data_to_send()))
                writer.write(conn.data_to_send())

        try:
            with contextlib.suppress(OSError, h2.exceptions.H2Error):
                while data := await reader.read(65536):
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.RequestReceived):
                            self.requests.append(_seen(event.headers or []))
                            reply, delay = (
                                self.script.popleft() if self.script else (self.answer, self.delay)
                            )
                            self._loop.call_later(delay, answer, event.stream_id, reply)
                    writer.write(conn.data_to_send())
                    await writer.drain()
        finally:
            writer.close()

    def _trickle(
        self,
        conn: h2.connection.H2Connection,
        stream_id: int,
        body: bytes,
        every: float,
        flush: Callable[[], None],
    ) -> None:
        """Send ``body`` one byte per ``every`` seconds."""

        def step(rest: bytes) -> None:
            if not rest:
                return
            with contextlib.suppress(h2.exceptions.H2Error, OSError):
                conn.send_data(stream_id, rest[:1])
                flush()
                self._loop.call_later(every, step, rest[1:])

        self._loop.call_later(every, step, body)

    def _flood(
        self, conn: h2.connection.H2Connection, stream_id: int, flush: Callable[[], None]
    ) -> None:
        """Send zeros on ``stream_id`` whenever the windows allow, until it closes."""

        def step() -> None:
            with contextlib.suppress(h2.exceptions.H2Error, OSError):
                room = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
                if room > 0:
                    conn.send_data(stream_id, bytes(room))
                    flush()
                self._loop.call_later(0 if room > 0 else 0.001, step)

        step()

    def _respond(
        self,
        conn: h2.connection.H2Connection,
        stream_id: int,
        answer: Answer,
        flush: Callable[[], None],
    ) -> None:
        headers: list[tuple[str | bytes, str | bytes]] = [(":status", str(answer.status))]
        headers += answer.headers
        if not answer.body and not (
            answer.endless or answer.reset or answer.trickle or answer.flood
        ):
            conn.send_headers(stream_id, headers, end_stream=True)
            return
        conn.send_headers(stream_id, headers)
        if answer.flood:
            self._flood(conn, stream_id, flush)
            return
        if answer.trickle:
            self._trickle(conn, stream_id, answer.body, answer.trickle, flush)
            return
        window = conn.local_flow_control_window(stream_id)
        if answer.body:
            conn.send_data(stream_id, answer.body[: min(window, conn.max_outbound_frame_size)])
        if answer.reset:
            conn.reset_stream(stream_id)
        elif not answer.endless:
            conn.end_stream(stream_id)


def _seen(headers: list[tuple[bytes, bytes]]) -> Seen:
    pairs = [(k.decode(), v.decode()) for k, v in headers]
    secret = {k.decode() for k, _ in (h for h in headers if isinstance(h, NeverIndexedHeaderTuple))}
    return Seen(pairs, secret)
