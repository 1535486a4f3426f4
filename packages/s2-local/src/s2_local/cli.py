"""The ``s2-local`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import sys

from s2_local import event_loop
from s2_local.engine.init_file import InitFileError, load_init_file
from s2_local.event_loop import LOOPS
from s2_local.http.cors import LOOPBACK_ORIGINS
from s2_local.http.limits import Limits
from s2_local.server import PARENT_PID_ENV, build_app, listen, serve
from s2_local.storage import DataDirInUse
from s2_local.tls import default_dir, self_signed

__all__ = ["main"]


async def _stop_when_orphaned(parent: int, stop: asyncio.Event) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    stop.set()


def _return_freed_memory() -> None:
    """Have glibc's malloc serve large buffers (read batches of up to 1 MiB) from their own
    mappings, unmapped when freed: a server whose sessions come and go then gives their
    memory back, instead of keeping its peak for good. Best effort (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        libc.mallopt(m_mmap_threshold, 256 * 1024)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s2-local", description="An S2-compatible server.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the S2 API")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    run.add_argument("--data-dir", help="keep data durably in this directory (default: in memory)")
    run.add_argument(
        "--repair",
        action="store_true",
        help="with --data-dir: if the log is damaged, keep every intact entry and drop the "
        "damaged ones (reported, the damaged log kept aside) instead of refusing to start",
    )
    run.add_argument("--tls-cert", help="PEM certificate: serve HTTPS (HTTP/2 via ALPN)")
    run.add_argument("--tls-key", help="PEM private key for --tls-cert")
    run.add_argument(
        "--tls-self",
        action="store_true",
        help="serve HTTPS with a generated certificate (kept in <data-dir>/tls or "
        "~/.cache/s2-local/tls); prints the CA file clients trust with SSL_CERT_FILE",
    )
    run.add_argument(
        "--auth",
        action="store_true",
        help="require access tokens (root token from --root-token or S2_LOCAL_ROOT_TOKEN)",
    )
    run.add_argument(
        "--root-token",
        help="the root access token in auth mode (default: $S2_LOCAL_ROOT_TOKEN, else random)",
    )
    run.add_argument(
        "--init-file",
        default=os.environ.get("S2_LOCAL_INIT_FILE"),
        help="JSON file of basins and streams to create or reconfigure at start, in s2-lite's "
        "format (default: $S2_LOCAL_INIT_FILE)",
    )
    run.add_argument(
        "--metrics-token",
        default=os.environ.get("S2_LOCAL_METRICS_TOKEN"),
        help="require this bearer token on GET /metrics, the Prometheus endpoint "
        "(default: $S2_LOCAL_METRICS_TOKEN, else open)",
    )
    run.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also let browser pages of ORIGIN call the server (repeatable; '*' for any; "
        "pages on localhost, 127.0.0.1 and [::1] may by default)",
    )
    run.add_argument(
        "--no-cors",
        action="store_true",
        help="let no other origin's browser pages call the server",
    )
    run.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    run.add_argument(
        "--loop",
        choices=LOOPS,
        default=None,
        help="event loop: uvloop (C, the faster), asyncio (the standard library's), or auto: "
        "uvloop if installed (default: $S2_LOCAL_LOOP, else auto)",
    )
    limits = run.add_argument_group("limits against slow or greedy clients")
    default = Limits()
    for flag, kind, text in (
        ("--header-timeout", float, "seconds a new connection has to send its first request"),
        ("--body-timeout", float, "longest pause within a request body, in seconds"),
        ("--idle-timeout", float, "seconds an idle connection stays open"),
        ("--max-connections", int, "connections served at once"),
        ("--max-streams", int, "concurrent requests per HTTP/2 connection"),
        ("--max-resets", int, "stream resets per connection in 10 s before it is closed"),
    ):
        name = flag[2:].replace("-", "_")
        value = getattr(default, name)
        limits.add_argument(flag, type=kind, default=value, help=f"{text} (default {value:g})")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``s2-local``."""
    args = _parser().parse_args(argv)
    try:
        event_loop.check(args.loop)
    except ValueError as e:
        sys.exit(f"s2-local: {e}")
    _return_freed_memory()
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("s2-local: --tls-cert and --tls-key go together")
    generated = None
    if args.tls_self:
        if args.tls_cert:
            sys.exit("s2-local: --tls-self or --tls-cert, not both")
        try:
            generated = self_signed(default_dir(args.data_dir), args.host)
        except OSError as e:
            sys.exit(f"s2-local: cannot write the generated certificate: {e}")
        args.tls_cert, args.tls_key = str(generated.cert_file), str(generated.key_file)
    try:
        init = load_init_file(args.init_file) if args.init_file else None
    except InitFileError as e:
        sys.exit(f"s2-local: {e}")
    try:
        sock = listen(args.host, args.port)
    except OSError as e:
        sys.exit(f"s2-local: cannot listen on {args.host}:{args.port}: {e}")
    port = sock.getsockname()[1]
    root_token = None
    if args.auth or args.root_token:
        root_token = (
            args.root_token
            or os.environ.get("S2_LOCAL_ROOT_TOKEN")
            or "s2l_root_" + secrets.token_urlsafe(24)
        )
    scheme = "https" if args.tls_cert else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    endpoint = f"{scheme}://{host}:{port}"
    where = f"in {args.data_dir}" if args.data_dir else "in memory"

    def announce() -> None:
        print(f"s2-local serving {endpoint} ({where}). For clients:", flush=True)
        exports = [
            ("S2_ACCOUNT_ENDPOINT", endpoint),
            ("S2_BASIN_ENDPOINT", endpoint),
            ("S2_ACCESS_TOKEN", root_token or "ignored"),
        ]
        if generated is not None:
            exports.append(("SSL_CERT_FILE", str(generated.ca_file)))
        for name, value in exports:
            print(f"export {name}={value}", flush=True)
        print(f"Console: {endpoint}/console (basins, streams and live records)", flush=True)
        if generated is not None:
            print(
                f"TLS with a generated certificate; its CA is {generated.ca_file}, SHA-256 "
                f"fingerprint {generated.fingerprint} (Node: NODE_EXTRA_CA_CERTS)",
                flush=True,
            )

    try:
        limits = Limits(
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            idle_timeout=args.idle_timeout,
            max_connections=args.max_connections,
            max_streams=args.max_streams,
            max_resets=args.max_resets,
        )
    except ValueError as e:
        sys.exit(f"s2-local: {e}")
    try:
        app = build_app(
            args.data_dir,
            on_ready=announce,
            root_token=root_token,
            repair=args.repair,
            limits=limits,
            metrics_token=args.metrics_token,
            cors_origins=() if args.no_cors else (*LOOPBACK_ORIGINS, *args.cors_origin),
        )
    except DataDirInUse as e:
        sys.exit(f"s2-local: {e}")
    except OSError as e:
        sys.exit(f"s2-local: cannot use --data-dir {args.data_dir}: {e}")
    app.init = init

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        parent = os.environ.get(PARENT_PID_ENV)
        watcher = None
        if parent and parent.isdigit():
            watcher = loop.create_task(_stop_when_orphaned(int(parent), stop))
        await serve(sock, app, shutdown=stop, tls_cert=args.tls_cert, tls_key=args.tls_key)
        if watcher is not None:
            watcher.cancel()

    try:
        event_loop.run(run(), args.loop)
    except Exception as e:
        sys.exit(f"s2-local: {app.startup_error or e}")
