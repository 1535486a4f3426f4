"""The per-process background event loop that the blocking facade runs on.

One daemon thread per process, started lazily. After ``fork`` the child starts
its own on first use and never touches the parent's loop or sockets. At
interpreter exit, registered finalizers (producer flushes, plugins' delivery) run
with a bound, then the loop stops.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from s2_sdk._exceptions import S2ClientError
from s2_sdk._fork import PerProcess

__all__ = ["Background", "background", "on_background_thread", "started_background"]

T = TypeVar("T")
EXIT_TIMEOUT = 5.0
"""Seconds the exit hook gives every registered finalizer together."""


class Background:
    """An event loop running forever on a daemon thread (get it with :func:`background`).

    The blocking facade runs every call here; plugins run their delivery here too.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._finalizers: set[Any] = set()
        self.closed = False
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._main, args=(ready,), name="s2-sdk-background", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on this loop's thread (where blocking would deadlock)."""
        return threading.current_thread() is self.thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine; returns a future usable from any thread.

        Raises:
            S2ClientError: the loop was shut down (interpreter exit).
        """
        if self.closed:
            coro.close()
            raise S2ClientError("the S2 background loop is shut down (interpreter exit)")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and wait for its result.

        Raises:
            S2ClientError: called from the loop's own thread, the loop was shut
                down, or ``timeout`` passed.
        """
        if self.in_loop_thread():
            coro.close()
            raise S2ClientError("blocking S2 calls cannot be made from the S2 background thread")
        if self.closed:
            coro.close()
            raise S2ClientError("the S2 background loop is shut down (interpreter exit)")
        call = _BlockingCall(self.loop, coro)
        self.loop.call_soon_threadsafe(call.start)
        if not call.done.acquire(timeout=-1 if timeout is None else timeout):
            self.loop.call_soon_threadsafe(call.cancel)
            raise S2ClientError(f"operation did not finish within {timeout} s")
        assert call.task is not None
        return call.task.result()

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run a callable on the loop thread (ignored once the loop is shut down)."""
        if not self.closed:
            self.loop.call_soon_threadsafe(fn)

    def add_finalizer(self, obj: Any) -> None:
        """Have ``obj.close_at_exit()`` (a coroutine function) run at interpreter exit.

        The loop holds ``obj`` until :meth:`remove_finalizer`: an open producer that its
        owner dropped is still flushed at exit instead of being garbage-collected with
        records in it.
        """
        self._finalizers.add(obj)

    def remove_finalizer(self, obj: Any) -> None:
        """Forget ``obj`` (it was closed)."""
        self._finalizers.discard(obj)

    def shutdown(self, timeout: float = EXIT_TIMEOUT) -> None:
        """Run finalizers (bounded), end every task still running (connections' readers
        of clients nobody closed), then stop the loop and its thread."""
        if not self.in_loop_thread():
            finalizers = list(self._finalizers)

            async def finalize() -> None:
                await asyncio.gather(
                    *(f.close_at_exit() for f in finalizers), return_exceptions=True
                )

            for step, bound in ((finalize, timeout), (_end_tasks, 1.0)):
                future = self.submit(step())
                try:
                    future.result(bound)
                except (concurrent.futures.TimeoutError, Exception):
                    future.cancel()
        self.closed = True
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_loop_thread():
            self.thread.join(timeout)


async def _end_tasks() -> None:
    """Cancel the loop's other tasks and wait (briefly) until they are done, so that none
    is left pending when the interpreter exits."""
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)


class _BlockingCall(Generic[T]):
    """A coroutine run on the loop for a waiting thread, which a plain lock wakes.

    (A fifth cheaper per call than ``run_coroutine_threadsafe`` and its future.)
    """

    __slots__ = ("cancelled", "coro", "done", "loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> None:
        self.loop = loop
        self.coro = coro
        self.task: asyncio.Task[T] | None = None
        self.cancelled = False
        self.done = threading.Lock()
        self.done.acquire()

    def start(self) -> None:
        if self.cancelled:
            self.coro.close()
            return
        self.task = self.loop.create_task(self.coro)
        self.task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[T]) -> None:
        self.done.release()

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


_background: PerProcess[Background] = PerProcess(Background)


def background() -> Background:
    """This process's background loop, started on first use (and anew in a forked child)."""
    return _background.get()


def started_background() -> Background | None:
    """This process's background loop if it was started, else None."""
    return _background.peek()


def on_background_thread() -> bool:
    """Whether the caller runs on this process's background thread.

    Code that the background loop itself runs (the facade's calls, plugins' delivery)
    uses this to avoid feeding itself: a logging handler drops the client's own log
    records there, an instrumentation does not trace them.
    """
    current = started_background()
    return current is not None and current.in_loop_thread()


def _at_exit() -> None:
    current = started_background()
    if current is not None:
        current.shutdown()


atexit.register(_at_exit)
