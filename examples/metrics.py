"""Account, basin and stream metrics."""

import asyncio
import os
import time

from s2_sdk import (
    S2,
    AccountMetricSet,
    AppendInput,
    BasinMetricSet,
    Endpoints,
    Record,
    StreamMetricSet,
)

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        await s2.ensure_basin(BASIN)
        await s2[BASIN].ensure_stream("metered")
        await s2[BASIN]["metered"].append(AppendInput(records=[Record(body=b"x" * 1000)]))

        now = int(time.time())
        hour_ago = now - 3600
        for metric in await s2.account_metrics(
            set=AccountMetricSet.ACTIVE_BASINS, start=hour_ago, end=now
        ):
            print("account:", metric)
        appends = await s2.basin_metrics(
            BASIN, set=BasinMetricSet.APPEND_OPS, start=hour_ago, end=now + 60
        )
        print("basin append ops:", appends)
        assert appends, "appends in the last hour are counted"
        storage = await s2.stream_metrics(
            BASIN, "metered", set=StreamMetricSet.STORAGE, start=hour_ago, end=now + 60
        )
        print("stream storage:", storage)
        assert storage


asyncio.run(main())
