"""Short versions of the reliability scenarios (``tools/reliability/run.py`` runs the long ones).

Clients go through a proxy that drops, cuts mid-frame, stalls and slows their
connections; what the server holds is then read directly and compared with what was
acknowledged.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from faults.proxy import Proxy
from faults.scenarios import (
    Figures,
    load,
    producer_under_faults,
    read_session_under_faults,
    second_writer,
    session_under_faults,
    unary_under_faults,
)
from s2_local.pytest_plugin import S2TestServer
from s2_local.server import Server
from s2_sdk import (
    S2,
    AccessTokenScope,
    AppendInput,
    AppendRetryPolicy,
    Endpoints,
    Operation,
    PrefixMatch,
    Record,
    Retry,
    S2Error,
)
from support.rest import unique_basin


@pytest.fixture
async def direct(s2_server: S2TestServer) -> AsyncIterator[tuple[S2, str]]:
    """A client straight to the server, and a fresh basin."""
    endpoints = Endpoints(s2_server.account_endpoint, s2_server.basin_endpoint)
    async with S2(s2_server.access_token, endpoints=endpoints) as client:
        name = unique_basin()
        await client.create_basin(name)
        yield client, name
        await client.delete_basin(name, ignore_not_found=True)


@pytest.fixture
def proxy(s2_server: S2TestServer) -> Iterator[Proxy]:
    origin = urlsplit(s2_server.basin_endpoint)
    with Proxy(origin.hostname or "127.0.0.1", origin.port or 80) as p:
        yield p


async def test_producer_retrying_everything_loses_nothing(
    direct: tuple[S2, str], proxy: Proxy
) -> None:
    client, basin = direct
    figures = await producer_under_faults(client, proxy, basin, "all", records=3000)
    assert figures.intact, figures
    assert figures.checked >= 3000 and sum(figures.faults.values()) >= 5, figures
    assert "3,000 of 3,000 acknowledged" in figures.notes, figures  # duplicates allowed here


async def test_producer_without_resends_is_at_most_once(
    direct: tuple[S2, str], proxy: Proxy
) -> None:
    """NO_SIDE_EFFECTS does not resend what may have been applied: it may end the producer
    early; whatever was acknowledged is there, once."""
    client, basin = direct
    figures = await producer_under_faults(
        client, proxy, basin, "once", records=3000, policy=AppendRetryPolicy.NO_SIDE_EFFECTS
    )
    assert figures.intact and figures.duplicates == 0, figures
    assert sum(figures.faults.values()) >= 1, figures


async def test_producer_with_match_seq_num_is_exactly_once(
    direct: tuple[S2, str], proxy: Proxy
) -> None:
    client, basin = direct
    figures = await producer_under_faults(
        client, proxy, basin, "exactly", records=3000, match_seq_num=True
    )
    _exactly_once(figures, 3000)


async def test_append_session_with_match_seq_num_is_exactly_once(
    direct: tuple[S2, str], proxy: Proxy
) -> None:
    client, basin = direct
    figures = await session_under_faults(client, proxy, basin, "session", records=3000)
    _exactly_once(figures, 3000)


@pytest.mark.parametrize("blocking", [False, True], ids=["async", "blocking"])
async def test_unary_appends_with_match_seq_num_are_exactly_once(
    direct: tuple[S2, str], proxy: Proxy, blocking: bool
) -> None:
    client, basin = direct
    figures = await unary_under_faults(
        client, proxy, basin, "unary", records=1500, blocking=blocking
    )
    _exactly_once(figures, 1500)


async def test_a_second_writer_is_named_and_nothing_is_duplicated(
    direct: tuple[S2, str], proxy: Proxy
) -> None:
    client, basin = direct
    figures = await second_writer(client, proxy, basin, "second", records=3000)
    assert figures.intact and figures.duplicates == 0, figures
    position = next(n for n in figures.notes if n.startswith("intruded at ")).split()[-1]
    ended = next(n for n in figures.notes if n.startswith("producer ended with"))
    assert ("SeqNumMismatchError" in ended and f"expected {int(position) + 1}" in ended) or (
        f"position {position} holds records this writer did not append" in ended
    ), ended
    assert "stored 1x" in figures.notes[-1], figures


def _exactly_once(figures: Figures, records: int) -> None:
    """Every record acknowledged, once, in order, the writer never failed, faults seen."""
    assert figures.intact and figures.duplicates == 0, figures
    assert figures.notes == [f"{records:,} of {records:,} acknowledged"], figures
    assert figures.checked == records, figures
    assert sum(figures.faults.values()) >= 3, figures


async def test_read_session_resumes_without_gap_or_duplicate(
    direct: tuple[S2, str], proxy: Proxy
) -> None:
    client, basin = direct
    figures = await read_session_under_faults(client, proxy, basin, "tail", records=5000)
    assert figures.intact and figures.duplicates == 0, figures
    assert figures.checked == 5000 and sum(figures.faults.values()) >= 5, figures


async def test_many_appenders_and_tailing_readers(direct: tuple[S2, str]) -> None:
    client, basin = direct
    figures = await load(client, basin, streams=50, seconds=3)
    assert figures.intact and figures.duplicates == 0, figures
    assert figures.checked > 50 * 100, figures


async def test_exactly_once_without_read_permission_says_what_it_needs() -> None:
    """A lost acknowledgement, then the resend refused for its position: a token that may
    append but not read cannot tell whether the batch went in, and the error says so."""
    with Server(root_token="root") as server:
        endpoints = Endpoints(server.endpoint, server.endpoint)
        async with S2("root", endpoints=endpoints) as root:
            await root.create_basin("append-only")
            await root["append-only"].create_stream("s")
            token = await root.issue_access_token(
                "appender",
                scope=AccessTokenScope(
                    basins=PrefixMatch(""), streams=PrefixMatch(""), ops=[Operation.APPEND]
                ),
            )
            with Proxy("127.0.0.1", server.port) as proxy:
                through = Endpoints(proxy.endpoint, proxy.endpoint)
                retry = Retry(max_attempts=5, min_base_delay=timedelta(milliseconds=10))
                async with S2(token, endpoints=through, retry=retry) as writer:
                    session = writer["append-only"]["s"].append_session()
                    first = AppendInput([Record(b"one")], match_seq_num=0)
                    assert (await (await session.submit(first))).end.seq_num == 1
                    proxy.lose_ack()
                    second = await session.submit(AppendInput([Record(b"two")], match_seq_num=1))
                    with pytest.raises(S2Error) as err:
                        await second
                    with contextlib.suppress(S2Error):
                        await session.close()
            assert "need read permission on the stream" in str(err.value), err.value
            assert "position 1" in str(err.value)
            tail = await root["append-only"]["s"].check_tail()
            assert tail.seq_num == 2  # it did go in: the writer could not know
