"""The per-process background event loop that the blocking facade runs on.

One daemon thread per process, started lazily. After ``fork`` the child starts
its own on first use and never touches the parent's loop or sockets. At
interpreter exit, registered finalizers (producer flushes) run with a bound,
then the loop stops.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from s2_sdk._exceptions import S2ClientError

__all__ = ["Bridge", "bridge", "keep_after_fork", "on_bridge_thread"]

T = TypeVar("T")
EXIT_TIMEOUT = 5.0
"""Seconds the exit hook gives every registered finalizer together."""


class Bridge:
    """An event loop running forever on a daemon thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._finalizers: set[Any] = set()
        self.closed = False
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._main, args=(ready,), name="s2-sdk-bridge", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _main(self, ready: threading.Event) -> None:
        _suppress_instrumentation()
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on the bridge thread (where blocking would deadlock)."""
        return threading.current_thread() is self.thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule a coroutine; returns a future usable from any thread.

        Raises:
            S2ClientError: the bridge was shut down (interpreter exit).
        """
        if self.closed:
            coro.close()
            raise S2ClientError("the S2 bridge is shut down (interpreter exit)")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and wait for its result.

        Raises:
            S2ClientError: called from the bridge thread itself, the bridge was shut
                down, or ``timeout`` passed.
        """
        if self.in_loop_thread():
            coro.close()
            raise S2ClientError("blocking S2 calls cannot be made from the S2 bridge thread")
        if self.closed:
            coro.close()
            raise S2ClientError("the S2 bridge is shut down (interpreter exit)")
        call = _BlockingCall(self.loop, coro)
        self.loop.call_soon_threadsafe(call.start)
        if not call.done.acquire(timeout=-1 if timeout is None else timeout):
            self.loop.call_soon_threadsafe(call.cancel)
            raise S2ClientError(f"operation did not finish within {timeout} s")
        assert call.task is not None
        return call.task.result()

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run a callable on the loop thread (ignored once the bridge is shut down)."""
        if not self.closed:
            self.loop.call_soon_threadsafe(fn)

    def add_finalizer(self, obj: Any) -> None:
        """Have ``obj.close_at_exit()`` (a coroutine function) run at interpreter exit.

        The bridge holds ``obj`` until :meth:`remove_finalizer`: an open producer that its
        owner dropped is still flushed at exit instead of being garbage-collected with
        records in it.
        """
        self._finalizers.add(obj)

    def remove_finalizer(self, obj: Any) -> None:
        """Forget ``obj`` (it was closed)."""
        self._finalizers.discard(obj)

    def shutdown(self, timeout: float = EXIT_TIMEOUT) -> None:
        """Run finalizers (bounded), then stop the loop and its thread."""
        finalizers = list(self._finalizers)
        if finalizers and not self.in_loop_thread():

            async def finalize() -> None:
                await asyncio.gather(
                    *(f.close_at_exit() for f in finalizers), return_exceptions=True
                )

            future = self.submit(finalize())
            try:
                future.result(timeout)
            except (concurrent.futures.TimeoutError, Exception):
                future.cancel()
        self.closed = True
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_loop_thread():
            self.thread.join(timeout)


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


def _suppress_instrumentation() -> None:
    """Keep OpenTelemetry instrumentation out of the bridge's own work (its tasks copy this)."""
    try:
        from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, set_value
    except ImportError:
        return
    attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))


_lock = threading.Lock()
_bridge: Bridge | None = None


def bridge() -> Bridge:
    """This process's bridge, started on first use (and anew in a forked child)."""
    global _bridge
    current = _bridge
    if current is not None and current.pid == os.getpid():
        return current
    with _lock:
        if _bridge is None or _bridge.pid != os.getpid():
            _bridge = Bridge()
        return _bridge


def on_bridge_thread() -> bool:
    """Whether the caller runs on this process's bridge thread (its own delivery work)."""
    current = _bridge
    return current is not None and threading.current_thread() is current.thread


_inherited: list[Any] = []


def keep_after_fork(obj: Any) -> None:
    """Keep an object inherited from the parent process alive, untouched, forever.

    Objects bound to the parent's event loop (the loop, its transports, clients and
    sessions using them) must not be garbage-collected in a forked child: closing
    them there unregisters the parent's descriptors from the epoll instance both
    processes share, and the parent's connections stop waking up. Code that replaces
    such objects after a fork hands the old ones to this function instead.
    """
    _inherited.append(obj)


def _forget_after_fork() -> None:
    global _bridge, _lock
    if _bridge is not None:
        keep_after_fork(_bridge)
    _bridge = None
    _lock = threading.Lock()


def _at_exit() -> None:
    current = _bridge
    if current is not None and current.pid == os.getpid():
        current.shutdown()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(_at_exit)
