"""Basin-level operations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from s2_sdk._config import StreamConfig
from s2_sdk._exceptions import S2ServerError, fallible
from s2_sdk._info import EnsuredStreamInfo, EnsureStatus, StreamInfo
from s2_sdk._json import stream_config, stream_config_json, stream_info
from s2_sdk._query import list_params, paginate
from s2_sdk._records import Page
from s2_sdk._stream import S2Stream
from s2_sdk._validate import check_stream

if TYPE_CHECKING:
    from s2_sdk._client import S2
    from s2_sdk._http import HttpClient

__all__ = ["S2Basin", "ensure_status"]


_PROVISION_RESULTS = {
    "created": EnsureStatus.CREATED,
    "updated": EnsureStatus.CONFIG_UPDATED,
    "noop": EnsureStatus.CONFIG_UNCHANGED,
}


def ensure_status(status_code: int, header: str | None) -> EnsureStatus:
    """The outcome of an ensure from ``s2-provision-result`` (or, lacking it, the status)."""
    status = _PROVISION_RESULTS.get(header or "")
    if status is not None:
        return status
    return EnsureStatus.CREATED if status_code == 201 else EnsureStatus.CONFIG_UPDATED


@fallible()
class S2Basin:
    """Operations on one basin.

    Caution:
        Returned by :meth:`S2.basin`. Do not instantiate directly.
    """

    __slots__ = ("_client", "_headers", "_http", "_name")

    def __init__(self, client: S2, name: str, http: HttpClient, direct: bool) -> None:
        self._client = client
        self._name = name
        self._http = http
        self._headers = {"s2-basin": name} if direct else {}

    @property
    def name(self) -> str:
        """Basin name."""
        return self._name

    def __repr__(self) -> str:
        return f"S2Basin(name={self._name!r})"

    def stream(self, name: str, *, encryption_key: bytes | str | None = None) -> S2Stream:
        """Get an :class:`S2Stream` for performing stream-level operations.

        Args:
            name: Name of the stream.
            encryption_key: Key for encrypting records on append and decrypting them on
                read. Required when encryption is enabled via
                ``BasinConfig.stream_cipher``. If bytes, it is converted to a base64
                encoded str. If str, it must be base64 encoded.

        Tip:
            Also available via subscript: ``s2["my-basin"]["my-stream"]``.
        """
        check_stream(name)
        return S2Stream(self, name, encryption_key)

    def __getitem__(self, name: str) -> S2Stream:
        return self.stream(name)

    def _stream_path(self, name: str) -> str:
        check_stream(name)
        return f"/v1/streams/{quote(name, safe='')}"

    async def create_stream(self, name: str, *, config: StreamConfig | None = None) -> StreamInfo:
        """Create a stream.

        Args:
            name: Name of the stream (unique within the basin, up to 512 bytes; ``/``
                is recommended as a delimiter for hierarchical naming).
            config: Configuration for the stream.

        Returns:
            Information about the created stream.
        """
        check_stream(name)
        body = {"stream": name, "config": stream_config_json(config) if config else None}
        headers = {**self._headers, "s2-request-token": self._client._request_token()}
        resp = await self._http.request("POST", "/v1/streams", json=body, headers=headers)
        return resp.json(stream_info)

    async def ensure_stream(
        self, name: str, *, config: StreamConfig | None = None
    ) -> EnsuredStreamInfo:
        """Ensure a stream exists with exactly this configuration.

        If the stream doesn't exist, it is created with the specified configuration.
        If it exists, its configuration is updated to the specified one if different
        (fields left unset take their defaults), or left unchanged if the same.

        Returns:
            Information about the ensured stream.
        """
        resp = await self._http.request(
            "PUT",
            self._stream_path(name),
            json=stream_config_json(config) if config is not None else None,
            headers=self._headers,
        )
        return EnsuredStreamInfo(
            resp.json(stream_info),
            ensure_status(resp.status_code, resp.headers.get("s2-provision-result")),
        )

    async def list_streams(
        self, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> Page[StreamInfo]:
        """List a page of streams.

        Args:
            prefix: Filter to streams whose name starts with this prefix.
            start_after: List streams whose name is lexicographically after this value.
            limit: Maximum number of streams to return per page. Capped at 1000.

        Returns:
            A page of :class:`StreamInfo`.
        """
        resp = await self._http.request(
            "GET",
            "/v1/streams",
            params=list_params(prefix, start_after, limit),
            headers=self._headers,
        )
        return resp.json(
            lambda data: Page([stream_info(s) for s in data["streams"]], bool(data["has_more"]))
        )

    async def list_all_streams(
        self, *, prefix: str = "", start_after: str = "", include_deleted: bool = False
    ) -> AsyncIterator[StreamInfo]:
        """List all streams, paginating automatically.

        Args:
            prefix: Filter to streams whose name starts with this prefix.
            start_after: List streams whose name is lexicographically after this value.
            include_deleted: Include streams that are being deleted.

        Yields:
            :class:`StreamInfo` for each stream.
        """
        async for info in paginate(
            lambda after: self.list_streams(prefix=prefix, start_after=after),
            start_after,
            key=lambda s: s.name,
            keep=lambda s: include_deleted or s.deleted_at is None,
        ):
            yield info

    async def delete_stream(self, name: str, *, ignore_not_found: bool = False) -> None:
        """Delete a stream (asynchronous: it may take a moment to disappear).

        Args:
            name: Name of the stream to delete.
            ignore_not_found: If True, do not raise on 404.
        """
        try:
            await self._http.request("DELETE", self._stream_path(name), headers=self._headers)
        except S2ServerError as e:
            if not (ignore_not_found and e.status_code == 404):
                raise

    async def get_stream_config(self, name: str) -> StreamConfig:
        """Get stream configuration.

        Returns:
            Current configuration of the stream.
        """
        resp = await self._http.request("GET", self._stream_path(name), headers=self._headers)
        return resp.json(stream_config)

    async def reconfigure_stream(self, name: str, *, config: StreamConfig) -> StreamConfig:
        """Reconfigure a stream. Only provided fields are updated.

        Returns:
            Updated stream configuration.
        """
        resp = await self._http.request(
            "PATCH", self._stream_path(name), json=stream_config_json(config), headers=self._headers
        )
        return resp.json(stream_config)
