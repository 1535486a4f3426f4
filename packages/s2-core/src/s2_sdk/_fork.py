"""Per-process state across ``fork``: the child builds its own, the parent's stays untouched."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["PerProcess", "keep_after_fork"]

T = TypeVar("T")

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


class PerProcess(Generic[T]):
    """A value made on first use in each process.

    In a forked child, :meth:`get` makes a new value with ``factory``; the parent's
    value is kept alive and untouched (see :func:`keep_after_fork`), so its sockets
    and event loop stay the parent's. Thread-safe: one value per process, however
    many threads ask at once.

    Example::

        clients = PerProcess(lambda: s2_sdk.sync.connect())
        clients.get().basin("logs")  # this process's client
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._pid = 0
        self._lock = threading.Lock()
        _holders.add(self)

    def get(self) -> T:
        """This process's value, made now if it has none yet.

        Raises:
            Exception: whatever ``factory`` raises (and the next call tries again).
        """
        value = self._value
        if value is not None and self._pid == os.getpid():
            return value
        with self._lock:
            if self._value is None or self._pid != os.getpid():
                self._value = self._factory()
                self._pid = os.getpid()
            return self._value

    def peek(self) -> T | None:
        """This process's value if it was made, else None (never makes one)."""
        return self._value if self._pid == os.getpid() else None

    def _forget(self) -> None:
        if self._value is not None:
            keep_after_fork(self._value)
        self._value = None
        self._lock = threading.Lock()  # another thread of the parent may have held it


_holders: weakref.WeakSet[PerProcess[Any]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for holder in list(_holders):
        holder._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
