"""The account: basins, their streams, and the control-plane operations on them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from s2_sdk.protocol import ErrorCode

from s2_local.engine.access import Principal
from s2_local.engine.clock import Clock
from s2_local.engine.config import (
    BasinConfig,
    BasinPatch,
    StreamConfig,
    StreamPatch,
    parse_basin_config,
    parse_stream_config,
)
from s2_local.engine.stream import Stream, rfc3339
from s2_local.engine.telemetry import Telemetry
from s2_local.engine.tokens import Tokens
from s2_local.engine.usage import Metrics
from s2_local.errors import ApiError
from s2_local.storage import AppendEntry, CorruptLog, DiskStore, Store

__all__ = ["LOCATIONS", "Account", "Basin", "EnsureOutcome"]

log = logging.getLogger("s2_local.account")

EnsureOutcome = Literal["created", "updated", "noop"]
LOCATIONS = ("aws:us-east-1", "aws:us-west-2", "aws:eu-north-1")
"""Locations s2-local answers for (all public; the first is the initial default)."""


def _idempotency_key(token: str | None, raw_config: Any) -> str | None:
    if token is None:
        return None
    material = json.dumps([token, raw_config], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass(slots=True)
class Basin:
    """A basin and its streams."""

    name: str
    config: BasinConfig
    created_at: datetime
    location: str | None = None
    deleted_at: datetime | None = None
    idempotency_key: str | None = None
    streams: dict[str, Stream] = field(default_factory=dict)

    def info_json(self) -> dict[str, Any]:
        """The JSON ``BasinInfo``."""
        return {
            "name": self.name,
            "location": self.location,
            "created_at": rfc3339(self.created_at),
            "deleted_at": rfc3339(self.deleted_at) if self.deleted_at else None,
            "state": "deleting" if self.deleted_at else "active",
        }

    def ensure_live(self) -> None:
        """Raise ``basin_deletion_pending`` if the basin is being deleted."""
        if self.deleted_at is not None:
            raise ApiError(
                ErrorCode.BASIN_DELETION_PENDING, f"basin `{self.name}` is being deleted"
            )


def _page(names: list[str], prefix: str, start_after: str, limit: int) -> tuple[list[str], bool]:
    matching = sorted(
        (n for n in names if n.startswith(prefix) and n > start_after),
        key=lambda n: n.encode(),
    )
    return matching[:limit], len(matching) > limit


class Account:
    """Every basin and stream of the server, with persistence and background work."""

    def __init__(
        self,
        store: Store | None = None,
        clock: Clock | None = None,
        *,
        root_token: str | None = None,
        deletion_grace: float = 0.5,
        maintenance_interval: float = 1.0,
    ) -> None:
        self.store = store or Store()
        self.clock = clock or Clock()
        self.basins: dict[str, Basin] = {}
        self.tokens = Tokens(self.store, self.clock, root_token)
        self.telemetry = Telemetry()
        """The server's Prometheus metrics."""
        self.telemetry.watch(self)
        self.store.on_fsync = self.telemetry.wal_fsync.observe
        self.metrics = Metrics(self.clock, self.telemetry)
        self.default_location = LOCATIONS[0]
        self.deletion_grace = deletion_grace
        self.maintenance_interval = maintenance_interval
        self._maintenance: asyncio.Task[None] | None = None
        self._meta = asyncio.Lock()
        """Held by every control-plane change: check, make it durable, then apply it (a
        change the store could not write never becomes visible)."""

    # -- lifecycle --------------------------------------------------------------

    async def open(self) -> None:
        """Recover persisted state and start background work.

        Raises:
            CorruptLog: the log contradicts itself (an append that does not follow its
                stream's last one) and the store is not repairing.
        """
        for entry in self.store.replay():
            if isinstance(entry, AppendEntry):
                basin = self.basins.get(entry.basin)
                stream = basin.streams.get(entry.stream) if basin else None
                if stream is None:
                    continue  # the stream was deleted later in the log
                if entry.first_seq != stream.next_seq:
                    self._inconsistent(
                        f"stream {entry.basin}/{entry.stream}: records from {entry.first_seq} "
                        f"do not follow {stream.next_seq}"
                    )
                    continue
                stream.restore(entry)
            else:
                try:
                    self._apply(entry)
                except KeyError as e:
                    self._inconsistent(f"a change to {e} before its creation")
        await self.store.start()
        self._maintenance = asyncio.create_task(self._maintain_forever(), name="s2-local-bg")

    async def close(self) -> None:
        """Stop background work and close the store."""
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        await self.store.close()

    def _inconsistent(self, what: str) -> None:
        if not isinstance(self.store, DiskStore) or not self.store.repairing:
            raise CorruptLog(
                f"the log is inconsistent ({what}); `s2-local serve --repair` drops what "
                "cannot be restored"
            )
        self.store.drop(what)

    # -- persistence ------------------------------------------------------------

    async def _save_basin(
        self, b: Basin, *, config: BasinConfig | None = None, deleted_at: datetime | None = None
    ) -> None:
        """Make the basin durable, as it is or with a new ``config`` / ``deleted_at``."""
        deleted = deleted_at or b.deleted_at
        await self.store.persist_meta(
            {
                "op": "basin",
                "name": b.name,
                "config": (config or b.config).to_json(),
                "location": b.location,
                "created_at": b.created_at.isoformat(),
                "deleted_at": deleted.isoformat() if deleted else None,
                "idem": b.idempotency_key,
            }
        )

    async def _save_stream(
        self, s: Stream, *, config: StreamConfig | None = None, deleted_at: datetime | None = None
    ) -> None:
        """Make the stream durable, as it is or with a new ``config`` / ``deleted_at``."""
        if not self.store.durable:
            return  # nothing to write (a stream created per Celery task, say)
        deleted = deleted_at or s.deleted_at
        await self.store.persist_meta(
            {
                "op": "stream",
                "basin": s.basin,
                "name": s.name,
                "config": (config or s.config).to_json(),
                "cipher": s.cipher,
                "created_at": s.created_at.isoformat(),
                "deleted_at": deleted.isoformat() if deleted else None,
                "idem": s.idempotency_key,
            }
        )

    def _apply(self, op: dict[str, Any]) -> None:
        kind = op["op"]
        if kind in ("token", "token_gone"):
            self.tokens.restore(op)
        elif kind == "default_location":
            self.default_location = op["name"]
        elif kind == "basin":
            existing = self.basins.get(op["name"])
            b = Basin(
                name=op["name"],
                config=parse_basin_config(op["config"]),
                created_at=datetime.fromisoformat(op["created_at"]),
                location=op["location"],
                deleted_at=datetime.fromisoformat(op["deleted_at"]) if op["deleted_at"] else None,
                idempotency_key=op["idem"],
                streams=existing.streams if existing else {},
            )
            self.basins[b.name] = b
        elif kind == "basin_gone":
            self.basins.pop(op["name"], None)
        elif kind == "stream":
            basin = self.basins[op["basin"]]
            s = basin.streams.get(op["name"])
            if s is None:
                s = self._new_stream(
                    basin,
                    op["name"],
                    parse_stream_config(op["config"]),
                    op["cipher"],
                    datetime.fromisoformat(op["created_at"]),
                    op["idem"],
                )
                basin.streams[s.name] = s
            s.config = parse_stream_config(op["config"])
            s.deleted_at = datetime.fromisoformat(op["deleted_at"]) if op["deleted_at"] else None
        elif kind == "stream_gone":
            owner = self.basins.get(op["basin"])
            if owner is not None:
                owner.streams.pop(op["name"], None)

    # -- locations --------------------------------------------------------------

    def location(self, name: str | None) -> str:
        """A basin's location: the given one (if known) or the account default."""
        if name is None:
            return self.default_location
        if name not in LOCATIONS:
            raise ApiError(
                ErrorCode.INVALID, f"unknown location {name!r}; known: {', '.join(LOCATIONS)}"
            )
        return name

    async def set_default_location(self, name: str) -> str:
        """Change the account's default location."""
        name = self.location(name)
        await self.store.persist_meta({"op": "default_location", "name": name})
        self.default_location = name
        return name

    # -- basins -----------------------------------------------------------------

    def basin(self, name: str) -> Basin:
        """The basin, or ``basin_not_found``."""
        b = self.basins.get(name)
        if b is None:
            raise ApiError(ErrorCode.BASIN_NOT_FOUND, f"basin `{name}` not found")
        return b

    async def create_basin(
        self, name: str, raw_config: Any, location: str | None, request_token: str | None
    ) -> tuple[Basin, bool]:
        """POST create; returns the basin and whether it was created (False: no-op)."""
        config = parse_basin_config(raw_config)
        key = _idempotency_key(request_token, raw_config)
        async with self._meta:
            existing = self.basins.get(name)
            if existing is not None:
                existing.ensure_live()
                if key is not None and key == existing.idempotency_key:
                    return existing, False
                raise ApiError(ErrorCode.RESOURCE_ALREADY_EXISTS, f"basin `{name}` already exists")
            b = Basin(
                name,
                config,
                self.clock.utcnow(),
                location=self.location(location),
                idempotency_key=key,
            )
            await self._save_basin(b)
            self.basins[name] = b
        return b, True

    async def ensure_basin(
        self,
        name: str,
        raw_config: Any,
        location: str | None,
        authorize: Callable[[str], None] = lambda op: None,
    ) -> tuple[Basin, EnsureOutcome]:
        """PUT ensure: make the basin exist with exactly this config.

        ``authorize`` is called with the operation it turns out to be (``create-basin`` or
        ``reconfigure-basin``) as the change is made, and raises to refuse it.
        """
        config = parse_basin_config(raw_config)
        async with self._meta:
            existing = self.basins.get(name)
            authorize("create-basin" if existing is None else "reconfigure-basin")
            if existing is None:
                b = Basin(name, config, self.clock.utcnow(), location=self.location(location))
                await self._save_basin(b)
                self.basins[name] = b
                return b, "created"
            existing.ensure_live()
            if existing.config == config:
                return existing, "noop"
            await self._save_basin(existing, config=config)
            existing.config = config
            return existing, "updated"

    async def reconfigure_basin(self, name: str, patch: BasinPatch) -> BasinConfig:
        """PATCH: apply a partial update."""
        async with self._meta:
            b = self.basin(name)
            b.ensure_live()
            config = patch.apply(b.config)
            await self._save_basin(b, config=config)
            b.config = config
            return b.config

    async def delete_basin(self, name: str) -> None:
        """DELETE: mark the basin deleting; its streams go in the background."""
        async with self._meta:
            b = self.basin(name)
            if b.deleted_at is not None:
                return
            now = self.clock.utcnow()
            await self._save_basin(b, deleted_at=now)
            b.deleted_at = now
            for s in list(b.streams.values()):
                if s.deleted_at is None:
                    await self._mark_stream_deleted(s)

    def list_basins(
        self, prefix: str, start_after: str, limit: int, principal: Principal
    ) -> tuple[list[Basin], bool]:
        """A page of the basins the caller may see, in byte order."""
        visible = [n for n in self.basins if principal.sees("basin", n)]
        names, more = _page(visible, prefix, start_after, limit)
        return [self.basins[n] for n in names], more

    # -- streams ----------------------------------------------------------------

    def _new_stream(
        self,
        basin: Basin,
        name: str,
        config: StreamConfig,
        cipher: str | None,
        created_at: datetime,
        idempotency_key: str | None,
    ) -> Stream:
        """A stream of ``basin``, not yet registered in it."""
        return Stream(
            basin.name, name, config, cipher, created_at, idempotency_key, self.store, self.clock
        )

    def stream(self, basin: str, name: str) -> Stream:
        """The stream, or ``stream_not_found`` (the basin is not checked)."""
        b = self.basins.get(basin)
        s = b.streams.get(name) if b else None
        if s is None:
            raise ApiError(
                ErrorCode.STREAM_NOT_FOUND, f"stream `{name}` in basin `{basin}` not found"
            )
        return s

    async def create_stream(
        self, basin: str, name: str, raw_config: Any, request_token: str | None
    ) -> tuple[Stream, bool]:
        """POST create; returns the stream and whether it was created (False: no-op)."""
        config = parse_stream_config(raw_config)
        key = _idempotency_key(request_token, raw_config)
        async with self._meta:
            b = self.basin(basin)
            b.ensure_live()
            existing = b.streams.get(name)
            if existing is not None:
                existing.ensure_live()
                if key is not None and key == existing.idempotency_key:
                    return existing, False
                raise ApiError(ErrorCode.RESOURCE_ALREADY_EXISTS, f"stream `{name}` already exists")
            s = self._new_stream(
                b,
                name,
                config.resolved(b.config.default_stream_config),
                b.config.stream_cipher,
                self.clock.utcnow(),
                key,
            )
            await self._save_stream(s)
            b.streams[name] = s
        return s, True

    async def ensure_stream(
        self,
        basin: str,
        name: str,
        raw_config: Any,
        authorize: Callable[[str], None] = lambda op: None,
    ) -> tuple[Stream, EnsureOutcome]:
        """PUT ensure: make the stream exist with exactly this config.

        ``authorize`` is called with the operation it turns out to be (``create-stream`` or
        ``reconfigure-stream``) as the change is made, and raises to refuse it.
        """
        async with self._meta:
            found = self.basins.get(basin)
            existing = found.streams.get(name) if found else None
            authorize("create-stream" if existing is None else "reconfigure-stream")
            b = self.basin(basin)
            b.ensure_live()
            config = parse_stream_config(raw_config).resolved(b.config.default_stream_config)
            if existing is None:
                s = self._new_stream(
                    b, name, config, b.config.stream_cipher, self.clock.utcnow(), None
                )
                await self._save_stream(s)
                b.streams[name] = s
                return s, "created"
            existing.ensure_live()
            if existing.config == config:
                return existing, "noop"
            await self._save_stream(existing, config=config)
            existing.config = config
            return existing, "updated"

    def stream_config(self, basin: str, name: str) -> StreamConfig:
        """GET a stream's resolved config."""
        s = self.stream(basin, name)
        s.ensure_live()
        return s.config

    async def reconfigure_stream(self, basin: str, name: str, patch: StreamPatch) -> StreamConfig:
        """PATCH: apply a partial update; cleared fields come from the basin defaults."""
        async with self._meta:
            b = self.basin(basin)
            b.ensure_live()
            s = self.stream(basin, name)
            s.ensure_live()
            config = patch.apply(s.config).resolved(b.config.default_stream_config)
            await self._save_stream(s, config=config)
            s.config = config
            return s.config

    async def delete_stream(self, basin: str, name: str) -> None:
        """DELETE: mark the stream deleting; it disappears shortly after."""
        async with self._meta:
            s = self.stream(basin, name)
            if s.deleted_at is None:
                await self._mark_stream_deleted(s)

    async def _mark_stream_deleted(self, s: Stream) -> None:
        """(With the lock held.)"""
        await s.durable()
        now = self.clock.utcnow()
        await self._save_stream(s, deleted_at=now)
        s.deleted_at = now
        s.notify()

    def list_streams(
        self, basin: str, prefix: str, start_after: str, limit: int, principal: Principal
    ) -> tuple[list[Stream], bool]:
        """A page of the basin's streams the caller may see (empty for a missing basin)."""
        b = self.basins.get(basin)
        if b is None:
            return [], False
        visible = [n for n in b.streams if principal.sees("stream", n)]
        names, more = _page(visible, prefix, start_after, limit)
        return [b.streams[n] for n in names], more

    async def data_stream(
        self,
        basin: str,
        name: str,
        on: Literal["append", "read"],
        config: StreamConfig | None = None,
    ) -> Stream:
        """The stream for a data-plane operation, auto-created if the basin says so.

        ``config`` (from ``s2-stream-config``) applies only when this creates the stream.
        """
        b = self.basin(basin)
        s = b.streams.get(name)
        if s is None:
            async with self._meta:
                s = b.streams.get(name)
                if s is None:
                    s = await self._create_on_demand(b, name, on, config)
        s.ensure_live()
        return s

    async def _create_on_demand(
        self, b: Basin, name: str, on: Literal["append", "read"], config: StreamConfig | None
    ) -> Stream:
        """(With the lock held.)"""
        b.ensure_live()
        allowed = (
            b.config.create_stream_on_append if on == "append" else b.config.create_stream_on_read
        )
        if not allowed:
            raise ApiError(
                ErrorCode.STREAM_NOT_FOUND, f"stream `{name}` in basin `{b.name}` not found"
            )
        s = self._new_stream(
            b,
            name,
            (config or StreamConfig()).resolved(b.config.default_stream_config),
            b.config.stream_cipher,
            self.clock.utcnow(),
            None,
        )
        await self._save_stream(s)
        b.streams[name] = s
        return s

    # -- background -------------------------------------------------------------

    async def _maintain_forever(self) -> None:
        while True:
            await asyncio.sleep(self.maintenance_interval)
            try:
                await self.maintain()
            except Exception:
                log.exception("background maintenance failed")

    async def maintain(self) -> None:
        """One pass of background work: retention, delete-on-empty, finishing deletions."""
        async with self._meta:
            await self._maintain()

    async def _maintain(self) -> None:
        now = self.clock.now()
        for b in list(self.basins.values()):
            for s in list(b.streams.values()):
                if s.deleted_at is not None:
                    if now - s.deleted_at.timestamp() >= self.deletion_grace:
                        await self.store.persist_meta(
                            {"op": "stream_gone", "basin": b.name, "name": s.name}
                        )
                        del b.streams[s.name]
                    continue
                s.log.expire(int(now))
                min_age = s.config.delete_on_empty_min_age or 0
                if (
                    min_age > 0
                    and s.sessions == 0
                    and s.log.is_empty()
                    and now - s.last_write >= min_age
                ):
                    await self._mark_stream_deleted(s)
            if (
                b.deleted_at is not None
                and not b.streams
                and now - b.deleted_at.timestamp() >= self.deletion_grace
            ):
                await self.store.persist_meta({"op": "basin_gone", "name": b.name})
                del self.basins[b.name]
