"""A TCP server on 127.0.0.1 with its own thread and event loop, for test doubles."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Self


class BackgroundServer:
    """Subclasses implement :meth:`_serve`; ``with`` starts and stops the server."""

    def __init__(self, name: str) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True, name=name)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._before_stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _before_stop(self) -> None:
        """Called on the test's thread as the ``with`` block ends."""

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        serving = asyncio.start_server(self._connection, "127.0.0.1", 0)
        server = self._loop.run_until_complete(serving)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self._loop)  # connections still being served
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # a connection still served at shutdown is cancelled: end it quietly (Python 3.11's
        # start_server asks a cancelled task for its exception and logs what that raises)
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
