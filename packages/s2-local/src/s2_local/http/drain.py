"""Draining connections: which client connections are being drained, and their signals.

A drained connection gets ``503 server_draining`` for every new request; its open
sessions are told through their :meth:`Drain.signal` event: they flag their next
frames "reconnect advised" and, after :data:`GRACE` seconds, end with a terminal
``server_draining``. The server sends GOAWAY on the connection once it is idle
(``http.h2_connection``); new connections are served as usual.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable

__all__ = ["GRACE", "Client", "Drain"]

Client = tuple[str, int]
"""A connection, by its peer address (ASGI ``scope["client"]``)."""

GRACE = 1.0
"""Seconds a session of a drained connection is given to reconnect on its own."""


class Drain:
    """The draining connections of one server."""

    def __init__(self) -> None:
        self._draining: set[Client] = set()
        self._signals: weakref.WeakValueDictionary[Client, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )

    def is_draining(self, client: Client | None) -> bool:
        """Whether requests from ``client`` are refused with ``server_draining``."""
        return client is not None and client in self._draining

    def signal(self, client: Client | None) -> asyncio.Event:
        """An event set when ``client`` drains (sessions hold it while they run)."""
        if client is None:
            return asyncio.Event()
        event = self._signals.get(client)
        if event is None:
            event = asyncio.Event()
            self._signals[client] = event
            if client in self._draining:
                event.set()
        return event

    def start(self, clients: Iterable[Client], live: Iterable[Client]) -> None:
        """Drain ``clients`` (forgetting drained connections no longer in ``live``)."""
        self._draining &= set(live)
        for client in clients:
            self._draining.add(client)
            self.signal(client).set()
