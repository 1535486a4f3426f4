"""Short versions of the reliability scenarios (``tools/reliability/run.py`` runs the long ones).

Clients go through a proxy that drops, cuts mid-frame, stalls and slows their
connections; what the server holds is then read directly and compared with what was
acknowledged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from faults.proxy import Proxy
from faults.scenarios import load, producer_under_faults, read_session_under_faults
from s2_local.pytest_plugin import S2TestServer
from s2_sdk import S2, AppendRetryPolicy, Endpoints
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


@pytest.mark.parametrize(
    ("policy", "match"),
    [(AppendRetryPolicy.ALL, True), (AppendRetryPolicy.NO_SIDE_EFFECTS, False)],
    ids=["all-with-match-seq-num", "no-side-effects"],
)
async def test_producer_never_duplicates_when_asked_not_to(
    direct: tuple[S2, str], proxy: Proxy, policy: AppendRetryPolicy, match: bool
) -> None:
    """match_seq_num turns a resend into a 412; NO_SIDE_EFFECTS does not resend at all.

    Either may end the producer early; whatever was acknowledged is there, once.
    """
    client, basin = direct
    figures = await producer_under_faults(
        client, proxy, basin, "once", records=3000, policy=policy, match_seq_num=match
    )
    assert figures.intact, figures
    assert figures.duplicates == 0, figures
    assert sum(figures.faults.values()) >= 1, figures


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
