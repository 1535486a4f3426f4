"""HTTP/2 edge cases from clients: the connection and its other streams survive them."""

from __future__ import annotations

import socket
import time

import h2.config
import h2.connection
import h2.events
from s2_local.pytest_plugin import S2TestServer


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
    conn.end_stream(1)  # late: the server already answered and closed its side
    conn.send_headers(3, headers, end_stream=True)
    sock.sendall(conn.data_to_send())
    assert _responses(conn, sock, 1) == {3: 200}
    sock.close()
