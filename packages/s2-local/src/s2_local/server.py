"""Running s2-local: in the current event loop, in a background thread, or as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from s2_local.engine.account import Account
from s2_local.engine.clock import Clock
from s2_local.engine.init_file import load_init_file
from s2_local.event_loop import LoopName
from s2_local.event_loop import check as check_loop
from s2_local.event_loop import run as run_loop
from s2_local.http.app import S2App
from s2_local.http.cors import LOOPBACK_ORIGINS, Cors
from s2_local.http.drain import GRACE
from s2_local.http.limits import Limits
from s2_local.http.listener import HttpServer, Lifespan, tls_context
from s2_local.storage import DiskStore, Store
from s2_local.tls import default_dir, self_signed

__all__ = [
    "DRAIN_TIMEOUT",
    "PARENT_PID_ENV",
    "Server",
    "ServerProcess",
    "build_app",
    "drain",
    "listen",
    "serve",
]

DRAIN_TIMEOUT = GRACE + 2.0
"""Longest a drain waits for the drained connections' requests to end."""

PARENT_PID_ENV = "S2_LOCAL_PARENT_PID"
"""Set by :class:`ServerProcess` for its child: shut down once that parent is gone."""

log = logging.getLogger("s2_local.server")
T = TypeVar("T")


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def build_app(
    data_dir: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    on_ready: Callable[[], None] | None = None,
    root_token: str | None = None,
    repair: bool = False,
    limits: Limits | None = None,
    init_file: str | os.PathLike[str] | None = None,
    metrics_token: str | None = None,
    cors_origins: Iterable[str] = LOOPBACK_ORIGINS,
) -> S2App:
    """The S2 application over a fresh account: in memory, or durable in ``data_dir``.

    With ``root_token``, authentication is on: every request needs a valid token. With
    ``repair``, a damaged log in ``data_dir`` is repaired instead of stopping the start.
    ``init_file`` (s2-lite's format) is checked now and applied at start. With
    ``metrics_token``, ``GET /metrics`` needs it as a bearer token. ``cors_origins`` are
    the origins whose browser pages may call the server (see :mod:`s2_local.http.cors`;
    empty: none).

    Raises:
        InitFileError: the init file cannot be used (every problem is listed).
    """
    init = load_init_file(init_file) if init_file is not None else None
    store = DiskStore(data_dir, repair=repair) if data_dir is not None else Store()
    account = Account(store, clock, root_token=root_token)
    return S2App(
        account,
        on_ready=on_ready,
        limits=limits or Limits(),
        init=init,
        metrics_token=metrics_token,
        cors=Cors(cors_origins),
    )


def http_server(app: S2App, tls_cert: str | None = None, tls_key: str | None = None) -> HttpServer:
    """The HTTP server for ``app`` (HTTPS with a certificate and its key).

    Raises:
        ValueError: only one of ``tls_cert`` and ``tls_key`` is given.
    """
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("TLS needs both a certificate and a key")
    tls = tls_context(tls_cert, tls_key) if tls_cert and tls_key else None
    return HttpServer(app, app.limits, tls)


async def drain(app: S2App, http: HttpServer, timeout: float = DRAIN_TIMEOUT) -> None:
    """Drain every connection open now, and wait (up to ``timeout``) until their requests
    and sessions have ended; connections opened meanwhile are served as usual.

    Their new requests get ``503 server_draining``, their sessions are advised to
    reconnect (and ended after the grace period), then each gets GOAWAY once idle.
    """
    clients = http.clients()
    app.drain.start(clients, live=clients)
    http.drain()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while http.busy() and loop.time() < deadline:
        await asyncio.sleep(0.02)


async def serve(
    sock: socket.socket,
    app: S2App,
    *,
    shutdown: asyncio.Event,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    http: HttpServer | None = None,
) -> None:
    """Serve ``app`` on a listening socket until ``shutdown`` is set.

    At shutdown no new connection is accepted, the open ones are drained (see
    :func:`drain`), then closed; requests still running are cancelled.

    Raises:
        LifespanError: the app could not start (``app.startup_error`` says why).
    """
    http = http or http_server(app, tls_cert, tls_key)
    loop_kind = type(asyncio.get_running_loop()).__module__.split(".")[0]
    log.info("serving on %s's event loop", loop_kind)
    async with Lifespan(app):
        await http.start(sock)
        try:
            await shutdown.wait()
            http.stop_accepting()
            await drain(app, http)
        finally:
            await http.close()


class Server:
    """An s2-local server on a background thread, for tests and embedding.

    Example::

        with Server() as server:
            os.environ.update(server.env())
            ...  # use any S2 client against server.endpoint
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        clock: Clock | None = None,
        root_token: str | None = None,
        repair: bool = False,
        limits: Limits | None = None,
        init_file: str | os.PathLike[str] | None = None,
        metrics_token: str | None = None,
        cors_origins: Iterable[str] = LOOPBACK_ORIGINS,
        tls_self: bool = False,
        loop: LoopName | None = None,
    ) -> None:
        check_loop(loop)
        self.loop_name = loop
        """The event loop its thread runs (see :mod:`s2_local.event_loop`; None: the
        default)."""
        self.host = host
        self.ca_file: Path | None = None
        """With ``tls_self``: the generated CA, for clients' ``SSL_CERT_FILE``."""
        if tls_self:
            generated = self_signed(default_dir(data_dir), host)
            tls_cert, tls_key = str(generated.cert_file), str(generated.key_file)
            self.ca_file = generated.ca_file
        self.root_token = root_token
        self._app = build_app(
            data_dir,
            clock,
            metrics_token=metrics_token,
            cors_origins=cors_origins,
            root_token=root_token,
            repair=repair,
            limits=limits,
            init_file=init_file,
        )
        self._sock = listen(host, port)
        self.port: int = self._sock.getsockname()[1]
        self.account = self._app.account
        self._tls = (tls_cert, tls_key)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._http = http_server(self._app, tls_cert, tls_key)

    @property
    def endpoint(self) -> str:
        """Base URL (scheme, host, port) for both the account and basin endpoints."""
        scheme = "https" if self._tls[0] else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The ``S2_*`` environment variables a client needs (and ``SSL_CERT_FILE`` with a
        generated certificate)."""
        env = {
            "S2_ACCOUNT_ENDPOINT": self.endpoint,
            "S2_BASIN_ENDPOINT": self.endpoint,
            "S2_ACCESS_TOKEN": self.root_token or "ignored",
        }
        if self.ca_file is not None:
            env["SSL_CERT_FILE"] = str(self.ca_file)
        return env

    def start(self, timeout: float = 10.0) -> Server:
        """Start serving on a daemon thread; returns once the server accepts requests."""
        self._thread = threading.Thread(target=self._run, name="s2-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._app.ready.wait(0.02):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(1)
                with contextlib.suppress(OSError):
                    self._sock.close()
                raise RuntimeError(
                    f"s2-local did not start: {self._app.startup_error or self._error}"
                )
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self._sock, self._app, shutdown=self._stop, http=self._http)

        try:
            run_loop(main(), self.loop_name)
        except BaseException as e:
            self._error = e
            if self._app.ready.is_set():
                log.exception("s2-local stopped with an error")

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the server's event loop and return its result (test hooks)."""
        assert self._loop is not None, "the server is not running"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Drain the connections open now, as a server about to restart would, and wait
        until their requests end (see :func:`drain`); new connections are served.

        Clients of the published SDK 0.9+ (and of ``s2_sdk``) ride through it: they
        reconnect without losing, repeating or counting anything against their retries.
        """
        self.run(drain(self._app, self._http, timeout), timeout + 5)

    def stop(self, timeout: float = 10.0) -> None:
        """Drain, stop serving and wait for the thread to end."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ServerProcess:
    """s2-local in a child process (``python -m s2_local serve``), e.g. to kill it hard."""

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        root_token: str | None = None,
        init_file: str | os.PathLike[str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.init_file = init_file
        self.args = tuple(args)
        """More ``s2-local serve`` flags (``--cors-origin``, ``--metrics-token``, ...)."""
        self.root_token = root_token
        self.host = host
        self.port = port
        self.endpoint = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 20.0) -> ServerProcess:
        """Start the child and wait until it prints its endpoint."""
        args = [
            sys.executable,
            "-m",
            "s2_local",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.data_dir is not None:
            args += ["--data-dir", str(self.data_dir)]
        if self.init_file is not None:
            args += ["--init-file", os.fspath(self.init_file)]
        args += self.args
        env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}  # it exits when we are gone
        if self.root_token is not None:
            args.append("--auth")
            env["S2_LOCAL_ROOT_TOKEN"] = self.root_token
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        assert self._proc.stdout is not None
        timer = threading.Timer(timeout, self._proc.kill)
        timer.start()
        try:
            for line in self._proc.stdout:
                match = re.search(r"S2_ACCOUNT_ENDPOINT=(\S+)", line)
                if match:
                    self.endpoint = match.group(1)
                    self.port = int(self.endpoint.rsplit(":", 1)[1])
                    return self
        finally:
            timer.cancel()
        code = self._proc.wait()
        self._reap()
        raise RuntimeError(f"s2-local exited with {code} before it was ready")

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return None if self._proc is None else self._proc.pid

    def _reap(self) -> None:
        if self._proc is not None:
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def kill(self) -> None:
        """SIGKILL the child (no shutdown, no flush) and reap it."""
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
            self._reap()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child and wait for it to exit."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._reap()
