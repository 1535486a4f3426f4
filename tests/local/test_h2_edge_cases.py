"""HTTP/2 on s2-local's own layer: what it advertises, how a response is framed, and edge
cases from clients that the connection and its other streams survive."""

from __future__ import annotations

import socket
import time
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
from h2.frame_buffer import FrameBuffer
from hyperframe.frame import DataFrame
from s2_local.http.h2_connection import WINDOW
from s2_local.pytest_plugin import S2TestServer


def _port(server: S2TestServer) -> int:
    return int(server.account_endpoint.rsplit(":", 1)[1])


def test_the_server_advertises_large_windows_and_its_stream_limit(s2_server: S2TestServer) -> None:
    """16 MiB receive windows (a client pipelining appends never waits for credit), the
    stream limit, 256 KiB frames."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", _port(s2_server)), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        while conn.outbound_flow_control_window < WINDOW:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            conn.receive_data(data)
    settings = conn.remote_settings
    assert settings.initial_window_size == WINDOW
    assert settings.max_concurrent_streams == 1000
    assert settings.max_frame_size == 256 * 1024
    assert conn.outbound_flow_control_window == WINDOW


def _responses(conn: h2.connection.H2Connection, sock: socket.socket, want: int) -> dict[int, int]:
    """Read until ``want`` responses ended; their statuses by stream id."""
    statuses: dict[int, int] = {}
    ended: set[int] = set()
    deadline = time.monotonic() + 10
    while len(ended) < want and time.monotonic() < deadline:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                statuses[event.stream_id] = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.StreamEnded):
                ended.add(event.stream_id)
        sock.sendall(conn.data_to_send())
    return statuses


def test_end_of_request_after_the_response_does_not_kill_the_connection(
    s2_server: S2TestServer,
) -> None:
    """HEADERS, the full response, then the request's END_STREAM: the connection lives on."""
    host, port = s2_server.account_endpoint.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    headers = [(":method", "GET"), (":scheme", "http"), (":authority", f"{host}:{port}"),
               (":path", "/v1/basins"), ("authorization", "Bearer t")]  # fmt: skip
    conn.send_headers(1, headers)  # no END_STREAM yet
    sock.sendall(conn.data_to_send())
    assert _responses(conn, sock, 1) == {1: 200}
    late = DataFrame(1)  # raw: h2 may already know the server reset the stream
    late.flags.add("END_STREAM")
    sock.sendall(late.serialize())  # late: the server already answered and closed its side
    conn.send_headers(3, headers, end_stream=True)
    sock.sendall(conn.data_to_send())
    assert _responses(conn, sock, 1) == {3: 200}
    sock.close()


def test_an_unread_body_does_not_wedge_its_connection(s2_server: S2TestServer) -> None:
    """A request answered early (here 400, no basin) while its 1 MiB body is still coming:
    the rest of the body is dropped, the stream reset, and the connection's other streams
    are answered."""
    host, port = s2_server.account_endpoint.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    base = [(":scheme", "http"), (":authority", f"{host}:{port}"), ("authorization", "Bearer t")]
    post = [(":method", "POST"), (":path", "/v1/streams/s/records"), *base,
            ("content-type", "application/x-protobuf")]  # fmt: skip
    while conn.outbound_flow_control_window < 2**20:
        conn.receive_data(sock.recv(65536))  # the server's settings and window updates
    sock.sendall(conn.data_to_send())
    conn.send_headers(1, post)
    for _ in range(64):  # 1 MiB arriving with the headers, before the app even starts
        conn.send_data(1, b"\0" * 16384)
    sock.sendall(conn.data_to_send())
    conn.send_headers(3, [(":method", "GET"), (":path", "/health"), *base], end_stream=True)
    sock.sendall(conn.data_to_send())
    try:
        assert _responses(conn, sock, 2) == {1: 400, 3: 200}
    finally:
        sock.close()


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
    frames = response_frames(_port(s2_server))
    assert [type(f).__name__ for f in frames] == ["HeadersFrame", "DataFrame"]
    assert b'"basins"' in frames[1].data
    assert "END_STREAM" in frames[1].flags


MALFORMED = {
    "upper-case name": [("X-Upper", "1")],
    "connection-specific": [("connection", "keep-alive")],
    "te other than trailers": [("te", "gzip")],
    "leading space in a value": [("x-a", " b")],
    "LF in a value": [("x-a", "b\nc")],
    "colon in a name": [("x:a", "b")],
    "pseudo-header after a regular one": [("x-a", "b"), (":scheme", "http")],
    "repeated pseudo-header": [(":path", "/health")],
    "unknown pseudo-header": [(":status", "200")],
    "host differs from :authority": [("host", "elsewhere")],
}


def test_malformed_requests_are_refused_and_the_connection_lives(
    s2_server: S2TestServer,
) -> None:
    """Each malformed header block is a stream error (RST_STREAM PROTOCOL_ERROR), never a
    500 or the end of the connection: the next request on it is answered."""
    port = _port(s2_server)
    config = h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False
    )
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    base = [(":method", "GET"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
            (":path", "/health")]  # fmt: skip
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(conn.data_to_send())
        stream_ids = {}
        for name, extra in MALFORMED.items():
            stream_id = conn.get_next_available_stream_id()
            pseudo = [h for h in extra if h[0].startswith(":")]
            regular = [h for h in extra if not h[0].startswith(":")]
            if name == "pseudo-header after a regular one":
                block = [*base, *extra]
            else:
                block = [*base, *pseudo, *regular]
            conn.send_headers(stream_id, block, end_stream=True)
            stream_ids[stream_id] = name
        good = conn.get_next_available_stream_id()
        conn.send_headers(good, base, end_stream=True)
        sock.sendall(conn.data_to_send())
        resets: dict[int, int] = {}
        answered = False
        while not answered:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.StreamReset):
                    resets[event.stream_id] = event.error_code
                elif isinstance(event, h2.events.ResponseReceived):
                    assert event.stream_id == good, stream_ids.get(event.stream_id)
                    assert dict(event.headers)[b":status"] == b"200"
                    answered = True
            sock.sendall(conn.data_to_send())
    assert {stream_ids[s]: code for s, code in resets.items()} == dict.fromkeys(
        MALFORMED, h2.errors.ErrorCodes.PROTOCOL_ERROR
    )
