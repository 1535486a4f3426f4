"""Create, configure, list and delete basins and streams.

Run against any S2: set S2_ACCESS_TOKEN, S2_ACCOUNT_ENDPOINT and S2_BASIN_ENDPOINT
(for s2-local: `s2-local serve --port 8080` and both endpoints http://127.0.0.1:8080).
"""

import asyncio
import os

from s2_sdk import S2, BasinConfig, Endpoints, StorageClass, StreamConfig

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        # ensure_* is idempotent: it creates, or reconfigures to match, or leaves alone
        await s2.ensure_basin(BASIN, config=BasinConfig(create_stream_on_append=False))
        basin = s2[BASIN]

        await basin.ensure_stream(
            "inventory/warehouse-1",
            config=StreamConfig(storage_class=StorageClass.STANDARD, retention_policy=7 * 86400),
        )
        await basin.ensure_stream("inventory/warehouse-2")

        page = await basin.list_streams(prefix="inventory/")
        names = [info.name for info in page.items]
        print("streams:", names)
        assert names == ["inventory/warehouse-1", "inventory/warehouse-2"]

        config = await basin.reconfigure_stream(
            "inventory/warehouse-2", config=StreamConfig(retention_policy="infinite")
        )
        print("warehouse-2 retention:", config.retention_policy)
        assert config.retention_policy == "infinite"

        for name in names:
            await basin.delete_stream(name)
        print("basin config:", await s2.get_basin_config(BASIN))


asyncio.run(main())
