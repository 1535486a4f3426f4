"""A blocking facade over the async client, for code that cannot be async.

Logging handlers, span exporters and Celery backends are synchronous; they use
this module. Every call runs on one per-process background event loop thread
(started lazily, re-created after ``fork``); calls block the calling thread only.

Code that must not block at all starts async work there with :meth:`S2.submit`. The
loop itself (:func:`background`), :func:`on_background_thread` and the fork-aware
:class:`PerProcess` holder are public for components that live on that loop, such as
the s2-logging delivery pump.

Example::

    from s2_sdk import AppendInput, Endpoints, Record
    from s2_sdk.sync import S2

    with S2("token", endpoints=Endpoints.from_env()) as s2:
        stream = s2["my-basin"]["my-stream"]
        stream.append(AppendInput(records=[Record(body=b"hello")]))
        with stream.producer() as producer:
            future = producer.submit(Record(body=b"world"))
        print(future.result().seq_num)
"""

from s2_sdk._background import Background, background, on_background_thread
from s2_sdk._batching import record_batches as append_record_batches
from s2_sdk._fork import PerProcess, keep_after_fork
from s2_sdk.sync._basin import S2Basin
from s2_sdk.sync._client import S2, connect, read_records
from s2_sdk.sync._sessions import AppendSession, Producer, ReadSession
from s2_sdk.sync._stream import S2Stream

__all__ = [
    "AppendSession",
    "Background",
    "PerProcess",
    "Producer",
    "ReadSession",
    "S2",
    "S2Basin",
    "S2Stream",
    "append_record_batches",
    "background",
    "connect",
    "keep_after_fork",
    "on_background_thread",
    "read_records",
]
