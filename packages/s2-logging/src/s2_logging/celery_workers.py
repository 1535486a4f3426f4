"""S2Handlers on the root logger survive a Celery worker's logging setup.

A Celery worker replaces the root logger's handlers with its own console handler at start
(``worker_hijack_root_logger``): an :class:`~s2_logging.S2Handler` that ``LOGGING`` (or
any logging setup made before the worker starts) put on the root logger would be dropped
without a word, and nothing the tasks log would reach S2. When a worker starts with an
S2Handler on the root logger, it is told to keep the root logger's handlers instead
(``worker_hijack_root_logger = False``, as a user would set it): every handler stays, and
the worker's ``--loglevel`` still sets the root logger's level.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["keep_root_handlers"]

log = logging.getLogger("s2_logging")
_SETTING = "worker_hijack_root_logger"
_connected = False


def keep_root_handlers() -> None:
    """Have Celery workers started in this process keep root S2Handlers (once; a no-op
    unless Celery is imported)."""
    global _connected
    if _connected or "celery" not in sys.modules:
        return
    from celery import signals

    signals.celeryd_init.connect(_on_worker_init, weak=False, dispatch_uid="s2_logging")
    _connected = True


def _on_worker_init(conf: Any = None, **_: Any) -> None:
    from s2_logging.handler import S2Handler  # (this module is imported by it)

    root = logging.getLogger()
    if conf is None or not any(isinstance(h, S2Handler) for h in root.handlers):
        return
    conf[_SETTING] = False
    log.debug("Celery worker: keeping the root logger's handlers (S2Handler among them)")
