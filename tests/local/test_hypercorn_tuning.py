"""s2-local's hypercorn tuning applies only to the servers it starts, on the hypercorn it
was written for."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest
from h2.frame_buffer import FrameBuffer
from hypercorn.asyncio import serve
from hypercorn.config import Config
from s2_local.http.hypercorn_tuning import WINDOW, check_version
from s2_local.pytest_plugin import S2TestServer


def advertised_window(port: int) -> int:
    """The initial stream window a server at ``port`` advertises in its SETTINGS."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RemoteSettingsChanged):
                    changed = event.changed_settings.get(
                        h2.settings.SettingCodes.INITIAL_WINDOW_SIZE
                    )
                    return changed.new_value if changed else 65535


@pytest.fixture
def plain_hypercorn() -> Iterator[int]:
    """Another hypercorn application served in this process, configured by its owner."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve(app, config, shutdown_trigger=stop.wait),),  # type: ignore[arg-type]
        daemon=True,
    )
    thread.start()
    yield sock.getsockname()[1]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()
    sock.detach()  # hypercorn closed the descriptor it was given


def test_only_s2_locals_servers_are_tuned(s2_server: S2TestServer, plain_hypercorn: int) -> None:
    s2_port = int(s2_server.account_endpoint.rsplit(":", 1)[1])
    assert advertised_window(s2_port) == WINDOW  # s2-local's server: tuned
    assert advertised_window(plain_hypercorn) == 65535  # hypercorn's default, untouched


def test_importing_s2_local_patches_nothing() -> None:
    program = textwrap.dedent(
        """
        import s2_local.server, s2_local.pytest_plugin
        from hypercorn.asyncio.tcp_server import TCPServer
        from hypercorn.protocol.h2 import H2Protocol
        from hypercorn.protocol.http_stream import HTTPStream
        patched = [
            f for f in (H2Protocol.__init__, H2Protocol.stream_send, TCPServer.run, HTTPStream.handle)
            if not f.__module__.startswith("hypercorn.")
        ]
        print(patched)
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unknown_hypercorn_is_refused_loudly() -> None:
    check_version("0.18.0")
    check_version("0.18.7")
    for version in ("0.17.3", "0.19.0", "1.0"):
        with pytest.raises(RuntimeError, match=r"written for hypercorn 0\.18"):
            check_version(version)


def response_frames(port: int) -> list[Any]:
    """The frames of the response to one ``GET /v1/basins``, as the server sent them."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    headers = [(":method", "GET"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
               (":path", "/v1/basins"), ("authorization", "Bearer t")]  # fmt: skip
    conn.send_headers(1, headers, end_stream=True)
    frames = FrameBuffer(server=False)
    frames.max_frame_size = 2**24 - 1
    seen: list[Any] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        while not any("END_STREAM" in f.flags for f in seen):
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            frames.add_data(data)
            seen += [f for f in frames if f.stream_id == 1]
            conn.receive_data(data)
            sock.sendall(conn.data_to_send())
    return seen


def test_a_response_ends_with_its_last_data_frame(s2_server: S2TestServer) -> None:
    """No empty DATA frame just to end the stream: the body's frame carries END_STREAM."""
    frames = response_frames(int(s2_server.account_endpoint.rsplit(":", 1)[1]))
    assert [type(f).__name__ for f in frames] == ["HeadersFrame", "DataFrame"]
    assert b'"basins"' in frames[1].data
    assert "END_STREAM" in frames[1].flags
