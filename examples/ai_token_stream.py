"""An AI app's token stream teed into S2 as it is produced, and a client that disconnects
mid-answer and resumes where it left off (s2_sdk.patterns: typed, deduplicated messages).

The model is simulated by an async generator; with a real one (an OpenAI or Anthropic
stream), only ``generate`` changes.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

from s2_sdk import S2, Endpoints, S2Stream, SeqNum
from s2_sdk.patterns import (
    DeserializingReadSession,
    SerializingAppendSession,
    json_deserializer,
    json_serializer,
)

BASIN = os.environ.get("S2_EXAMPLE_BASIN", "python-examples")
ANSWER = "Streams are append-only logs: every token lands once, in order, and can be replayed."


async def generate(prompt: str) -> AsyncIterator[str]:
    """A model answering ``prompt``, a token at a time."""
    for word in ANSWER.split(" "):
        await asyncio.sleep(0.005)
        yield word + " "


async def tee(tokens: AsyncIterator[str], stream: S2Stream) -> str:
    """Pass the tokens on to the caller's UI (here: collect them) while writing each to S2
    as a message, then an end marker."""
    shown = []
    session = stream.append_session()
    async with SerializingAppendSession(session, json_serializer) as writer:
        async for token in tokens:
            shown.append(token)  # e.g. sent to the browser at once
            await writer.submit({"type": "token", "text": token})
        await writer.submit({"type": "done"})
    return "".join(shown)


async def read_answer(stream: S2Stream, start: int, stop_after: int | None) -> tuple[str, int]:
    """The answer's text from ``start`` (to its end, or ``stop_after`` tokens, as a client
    that disconnects would), and where to resume."""
    text, resume = [], start
    session = stream.read_session(start=SeqNum(start))  # follows the answer as it is written
    async with DeserializingReadSession(session, json_deserializer) as reader:
        async for message in reader:
            resume = reader.next_seq_num or resume
            if message["type"] == "done":
                break
            text.append(message["text"])
            if len(text) == stop_after:
                break
    return "".join(text), resume


async def main() -> None:
    async with S2(os.environ["S2_ACCESS_TOKEN"], endpoints=Endpoints.from_env()) as s2:
        await s2.ensure_basin(BASIN)
        name = f"chat/{uuid.uuid4().hex[:8]}/answer"  # one stream per answer
        await s2[BASIN].ensure_stream(name)
        stream = s2[BASIN][name]

        writing = asyncio.create_task(tee(generate("what is a stream?"), stream))
        first, resume = await read_answer(stream, 0, stop_after=5)  # the client drops off
        rest, _ = await read_answer(stream, resume, stop_after=None)  # and comes back
        shown = await writing
        print(f"resumed after {first.count(' ')} tokens at #{resume}; the replay matches")
        assert first + rest == shown == ANSWER + " "


asyncio.run(main())
