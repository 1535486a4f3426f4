"""s2-local's limits against slow, greedy and malicious clients, over real connections."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest
from s2_local.http.limits import Limits
from s2_local.server import Server
from s2_sdk import Endpoints
from s2_sdk.sync import S2


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with Server(limits=request.param) as server:
        yield server


class RawClient:
    """An HTTP/2 client that does exactly what a test tells it to (and no more)."""

    def __init__(self, server: Server) -> None:
        self.authority = f"127.0.0.1:{server.port}"
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.flush()
        self.events: list[h2.events.Event] = []
        self.wait_for(h2.events.RemoteSettingsChanged)

    def flush(self) -> None:
        self.sock.sendall(self.conn.data_to_send())

    def request(
        self, stream_id: int, path: str, method: str = "GET", end: bool = True, flush: bool = True
    ) -> None:
        headers = [(":method", method), (":scheme", "http"), (":authority", self.authority),
                   (":path", path), ("s2-basin", "limits-basin")]  # fmt: skip
        self.conn.send_headers(stream_id, headers, end_stream=end)
        if flush:
            self.flush()

    def wait_for(self, kind: type, count: int = 1, timeout: float = 10) -> list[h2.events.Event]:
        deadline = time.monotonic() + timeout
        while len([e for e in self.events if isinstance(e, kind)]) < count:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data = self.sock.recv(65536)
            if not data:
                break
            self.events.extend(self.conn.receive_data(data))
            with contextlib.suppress(OSError):  # the server may have closed the connection
                self.flush()
        return [e for e in self.events if isinstance(e, kind)]

    def closed_within(self, seconds: float) -> bool:
        """Whether the server closes the connection within ``seconds``."""
        self.sock.settimeout(seconds)
        try:
            while data := self.sock.recv(65536):
                self.events.extend(self.conn.receive_data(data))
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("server", [Limits(max_streams=5)], indirect=True)
def test_a_stream_beyond_the_limit_is_refused_and_the_others_go_on(server: Server) -> None:
    with S2("t", endpoints=Endpoints(server.endpoint, server.endpoint)) as s2:
        s2.create_basin("limits-basin")
        s2["limits-basin"].create_stream("empty")
    client = RawClient(server)
    try:
        assert client.conn.remote_settings.max_concurrent_streams == 5
        # pretend not to know the limit, as a greedy client would
        client.conn.remote_settings._settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS][
            0
        ] = 100
        for i in range(6):  # long polls of an empty stream: all six stay open for a second
            client.request(1 + 2 * i, "/v1/streams/empty/records?seq_num=0&wait=1", flush=False)
        client.flush()
        resets = client.wait_for(h2.events.StreamReset)
        assert [(r.stream_id, r.error_code) for r in resets] == [
            (11, h2.errors.ErrorCodes.REFUSED_STREAM)
        ]
        responses = client.wait_for(h2.events.ResponseReceived, 5)
        assert sorted(r.stream_id for r in responses) == [1, 3, 5, 7, 9]
        client.request(13, "/health")  # the connection is fine
        assert client.wait_for(h2.events.ResponseReceived, 6)[-1].stream_id == 13
    finally:
        client.close()


@pytest.mark.parametrize("server", [Limits(max_connections=2)], indirect=True)
def test_connections_beyond_the_limit_are_closed(server: Server) -> None:
    first, second = RawClient(server), RawClient(server)
    third = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        assert third.recv(100) == b""  # closed at once
        second.close()
        time.sleep(0.2)
        fourth = RawClient(server)  # room again
        fourth.request(1, "/health")
        assert fourth.wait_for(h2.events.ResponseReceived)
        fourth.close()
    finally:
        first.close()
        third.close()


@pytest.mark.parametrize("server", [Limits(header_timeout=0.5, idle_timeout=1.0)], indirect=True)
def test_silent_and_idle_connections_are_closed(server: Server) -> None:
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    start = time.monotonic()
    assert silent.recv(100) == b""  # never sent a request: closed after the header timeout
    assert 0.3 < time.monotonic() - start < 3
    silent.close()
    client = RawClient(server)
    client.request(1, "/health")
    client.wait_for(h2.events.StreamEnded)
    assert not client.closed_within(0.6)  # the idle timeout, not the header timeout, now
    assert client.closed_within(3)
    client.close()


@pytest.mark.parametrize("server", [Limits(body_timeout=0.5)], indirect=True)
def test_a_trickled_body_times_out(server: Server) -> None:
    client = RawClient(server)
    try:
        client.request(1, "/v1/basins", method="POST", end=False)
        client.conn.send_data(1, b'{"basin": ')
        client.flush()  # ... and nothing more
        (response,) = client.wait_for(h2.events.ResponseReceived, timeout=5)
        assert dict(response.headers)[b":status"] == b"408"
    finally:
        client.close()


@pytest.mark.parametrize("server", [Limits(max_resets=50)], indirect=True)
def test_rapid_resets_close_the_connection(server: Server) -> None:
    client = RawClient(server)
    try:
        with contextlib.suppress(OSError):  # the server may cut the connection meanwhile
            for i in range(200):
                stream_id = 1 + 2 * i
                client.request(stream_id, "/v1/streams/missing/records?seq_num=0&wait=30")
                client.conn.reset_stream(stream_id)
                client.flush()
        (goaway,) = client.wait_for(h2.events.ConnectionTerminated)
        assert goaway.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
        assert client.closed_within(5)
    finally:
        client.close()
