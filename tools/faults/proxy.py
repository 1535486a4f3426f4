"""A fault-injecting TCP proxy for tests: resets, stalls, slow links, cuts mid-frame, lost
acknowledgements.

``Proxy`` forwards ``127.0.0.1:<port>`` to a target on its own thread and event
loop, so both blocking and asyncio clients can go through it. Faults apply to the
connections live when they are injected (``drop``, ``cut``) or to all traffic while
they last (``stall``, ``slow``); :attr:`faults` counts what was injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable

from faults.background import BackgroundServer


class Proxy(BackgroundServer):
    """Forwards ``127.0.0.1:<port>`` to a target, injecting faults on demand."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__("test-proxy")
        self.target = (target_host, target_port)
        self.connections = 0
        self.faults: Counter[str] = Counter()
        self._writers: set[asyncio.StreamWriter] = set()
        self._stalled_until = 0.0
        self._rate: float | None = None
        self._cut_next = False
        self._lose_next_down = False

    def _before_stop(self) -> None:
        self._reset_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        pair = {writer, up_writer}
        self._writers |= pair

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, down: bool) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    await self._forward(data, dst, pair, down)
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))
        self._writers -= pair

    async def _forward(
        self, data: bytes, dst: asyncio.StreamWriter, pair: set[asyncio.StreamWriter], down: bool
    ) -> None:
        """Pass ``data`` on to ``dst`` (``down``: from the server to the client)."""
        loop = asyncio.get_running_loop()
        if (pause := self._stalled_until - loop.time()) > 0:
            await asyncio.sleep(pause)
        if down and self._lose_next_down:
            self._lose_next_down = False
            for w in pair:
                _reset(w)
            raise OSError("an acknowledgement lost by the proxy")
        if self._cut_next:
            self._cut_next = False
            dst.write(data[: max(1, len(data) // 2)])  # half a chunk: mid-frame
            await dst.drain()
            for w in pair:
                _reset(w)
            raise OSError("cut by the proxy")
        rate = self._rate
        if rate is None:
            dst.write(data)
            await dst.drain()
            return
        for i in range(0, len(data), 4096):
            dst.write(data[i : i + 4096])
            await dst.drain()
            await asyncio.sleep(min(len(data) - i, 4096) / rate)

    def _call(self, fn: Callable[[], None]) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    def _reset_all(self) -> None:
        def cut() -> None:
            for w in list(self._writers):
                _reset(w)
            self._writers.clear()

        self._call(cut)

    def drop(self) -> None:
        """Reset every live connection now (RST, no FIN)."""
        self.faults["drop"] += 1
        self._reset_all()

    def cut(self) -> None:
        """Forward only half of the next chunk, in whichever direction, then reset."""
        self.faults["cut"] += 1
        self._cut_next = True

    def lose_ack(self) -> None:
        """Drop the next chunk the server sends (acknowledgements of what it applied, say)
        and reset: the client cannot tell whether what it sent took effect."""
        self.faults["lost ack"] += 1
        self._lose_next_down = True

    def stall(self, seconds: float) -> None:
        """Hold all traffic for ``seconds`` (connections stay open)."""
        self.faults["stall"] += 1

        def hold() -> None:
            self._stalled_until = self._loop.time() + seconds

        self._call(hold)

    def slow(self, bytes_per_second: float | None) -> None:
        """Throttle every connection to ``bytes_per_second`` (None: full speed)."""
        if bytes_per_second is not None:
            self.faults["slow"] += 1
        self._rate = bytes_per_second

    def random_fault(self, rng: random.Random) -> None:
        """One fault picked at random: a drop, a mid-frame cut, a lost acknowledgement, a
        stall or a slow spell."""
        kind = rng.choice(["drop", "cut", "lost ack", "stall", "slow"])
        self._rate = None  # a slow spell lasts until the next fault
        if kind == "drop":
            self.drop()
        elif kind == "cut":
            self.cut()
        elif kind == "lost ack":
            self.lose_ack()
        elif kind == "stall":
            self.stall(rng.uniform(0.05, 0.5))
        else:
            self.slow(rng.choice([64_000.0, 512_000.0]))

    def heal(self) -> None:
        """Back to full speed with no pending fault."""
        self.slow(None)
        self._cut_next = False
        self._lose_next_down = False


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
