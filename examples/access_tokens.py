"""Issue a scoped, expiring access token, list it, and revoke it."""

import asyncio
import os
from datetime import UTC, datetime, timedelta

from s2_sdk import (
    S2,
    AccessTokenScope,
    Endpoints,
    Operation,
    PrefixMatch,
)

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        scope = AccessTokenScope(
            basins=PrefixMatch(BASIN),
            streams=PrefixMatch("tenant-7/"),
            ops=[Operation.APPEND, Operation.READ, Operation.CHECK_TAIL],
        )
        token = await s2.issue_access_token(
            "tenant-7-writer",
            scope=scope,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            auto_prefix_streams=True,  # the holder writes "orders", S2 stores "tenant-7/orders"
        )
        print("issued a token of", len(token), "characters (shown only once)")

        page = await s2.list_access_tokens(prefix="tenant-7-")
        info = page.items[0]
        print("listed:", info.id, "expires", info.expires_at, "ops", info.scope.ops)
        assert info.id == "tenant-7-writer" and info.auto_prefix_streams

        await s2.revoke_access_token("tenant-7-writer")
        remaining = await s2.list_access_tokens(prefix="tenant-7-")
        assert remaining.items == []
        print("revoked")


asyncio.run(main())
