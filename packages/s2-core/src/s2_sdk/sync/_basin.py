"""Blocking basin operations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from s2_sdk import _basin
from s2_sdk._config import StreamConfig
from s2_sdk._exceptions import S2ServerError
from s2_sdk._info import EnsuredStreamInfo, StreamInfo
from s2_sdk._records import (
    Page,
)
from s2_sdk.protocol import ErrorCode
from s2_sdk.sync._bridge import iterate, run
from s2_sdk.sync._stream import S2Stream

if TYPE_CHECKING:
    from s2_sdk.sync._client import S2


class S2Basin:
    """Blocking basin operations; see :class:`s2_sdk.S2Basin`."""

    def __init__(self, client: S2, name: str) -> None:
        self._client = client
        self._name = name

    @property
    def name(self) -> str:
        """The basin's name."""
        return self._name

    def _async(self) -> _basin.S2Basin:
        return self._client.client().basin(self._name)

    def list_all_streams(
        self, *, prefix: str = "", start_after: str = "", include_deleted: bool = False
    ) -> Iterator[StreamInfo]:
        """Every stream, page by page as iterated; see :meth:`s2_sdk.S2Basin.list_all_streams`."""
        return iterate(
            self._async().list_all_streams(
                prefix=prefix, start_after=start_after, include_deleted=include_deleted
            )
        )

    def stream(self, name: str, *, encryption_key: bytes | str | None = None) -> S2Stream:
        """A blocking :class:`S2Stream`."""
        self._async().stream(name, encryption_key=encryption_key)
        return S2Stream(self, name, encryption_key)

    def __getitem__(self, name: str) -> S2Stream:
        return self.stream(name)

    def create_stream(self, name: str, *, config: StreamConfig | None = None) -> StreamInfo:
        """See :meth:`s2_sdk.S2Basin.create_stream`."""
        result: StreamInfo = run(self._async().create_stream(name, config=config))
        return result

    def create_stream_if_missing(
        self, name: str, *, config: StreamConfig | None = None, timeout: float = 30.0
    ) -> bool:
        """Create a stream unless it exists (an existing stream keeps its config).

        Waits (up to ``timeout``) while an earlier stream of that name is still being
        deleted. Returns whether this call created the stream.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.create_stream(name, config=config)
                return True
            except S2ServerError as e:
                if e.code == ErrorCode.RESOURCE_ALREADY_EXISTS:
                    return False
                if e.code != ErrorCode.STREAM_DELETION_PENDING or time.monotonic() >= deadline:
                    raise
            time.sleep(0.1)

    def ensure_stream(self, name: str, *, config: StreamConfig | None = None) -> EnsuredStreamInfo:
        """See :meth:`s2_sdk.S2Basin.ensure_stream`."""
        result: EnsuredStreamInfo = run(self._async().ensure_stream(name, config=config))
        return result

    def list_streams(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[StreamInfo]:
        """See :meth:`s2_sdk.S2Basin.list_streams`."""
        result: Page[StreamInfo] = run(
            self._async().list_streams(prefix=prefix, start_after=start_after, limit=limit)
        )
        return result

    def delete_stream(self, name: str, *, ignore_not_found: bool = False) -> None:
        """See :meth:`s2_sdk.S2Basin.delete_stream`."""
        run(self._async().delete_stream(name, ignore_not_found=ignore_not_found))

    def get_stream_config(self, name: str) -> StreamConfig:
        """See :meth:`s2_sdk.S2Basin.get_stream_config`."""
        result: StreamConfig = run(self._async().get_stream_config(name))
        return result

    def reconfigure_stream(self, name: str, *, config: StreamConfig) -> StreamConfig:
        """See :meth:`s2_sdk.S2Basin.reconfigure_stream`."""
        result: StreamConfig = run(self._async().reconfigure_stream(name, config=config))
        return result
