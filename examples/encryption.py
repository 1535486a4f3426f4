"""Client-keyed encryption: the server stores only ciphertext and needs the key to read."""

import asyncio
import os

from s2_sdk import (
    S2,
    AppendInput,
    BasinConfig,
    Encryption,
    Endpoints,
    Record,
    S2ServerError,
    SeqNum,
)

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples") + "-enc"


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        # streams created in this basin are encrypted with AES-256-GCM
        await s2.ensure_basin(BASIN, config=BasinConfig(stream_cipher=Encryption.AES_256_GCM))
        await s2[BASIN].ensure_stream("secrets")
        key = os.urandom(32)  # keep it safe: without it the records are unreadable

        stream = s2[BASIN].stream("secrets", encryption_key=key)
        ack = await stream.append(AppendInput(records=[Record(body=b"the eagle has landed")]))
        batch = await stream.read(start=SeqNum(ack.start.seq_num))
        print("decrypted:", batch.records[0].body)
        assert batch.records[0].body == b"the eagle has landed"

        wrong = s2[BASIN].stream("secrets", encryption_key=os.urandom(32))
        try:
            await wrong.read(start=SeqNum(ack.start.seq_num))
        except S2ServerError as e:
            print("wrong key refused:", e.code)
            assert e.code == "decryption_failed"
        else:
            raise AssertionError("a wrong key must not read")


asyncio.run(main())
