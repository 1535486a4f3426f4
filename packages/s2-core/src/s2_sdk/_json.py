"""JSON mapping of the control-plane types (requests out, responses in)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from s2_sdk._access import (
    AccessTokenInfo,
    AccessTokenScope,
    ExactMatch,
    Operation,
    OperationGroupPermissions,
    Permission,
    PrefixMatch,
)
from s2_sdk._config import (
    BasinConfig,
    Encryption,
    StorageClass,
    StreamConfig,
    Timestamping,
    TimestampingMode,
)
from s2_sdk._info import BasinInfo, LocationInfo, StreamInfo
from s2_sdk._metrics import Accumulation, Gauge, Label, MetricUnit, Scalar, TimeseriesInterval
from s2_sdk._records import StreamPosition

__all__ = [
    "access_token_info",
    "basin_config",
    "basin_config_json",
    "basin_info",
    "location_info",
    "metrics",
    "position",
    "scope_json",
    "stream_config",
    "stream_config_json",
    "stream_info",
]


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def position(obj: dict[str, Any]) -> StreamPosition:
    """A ``{seq_num, timestamp}`` object."""
    return StreamPosition(int(obj.get("seq_num", 0)), int(obj.get("timestamp", 0)))


def stream_config_json(config: StreamConfig) -> dict[str, Any]:
    """The set fields of a StreamConfig (unset ones are left out)."""
    out: dict[str, Any] = {}
    if config.storage_class is not None:
        out["storage_class"] = str(config.storage_class)
    if config.retention_policy == "infinite":
        out["retention_policy"] = {"infinite": {}}
    elif config.retention_policy is not None:
        out["retention_policy"] = {"age": config.retention_policy}
    if config.timestamping is not None:
        ts: dict[str, Any] = {}
        if config.timestamping.mode is not None:
            ts["mode"] = config.timestamping.mode.value
        if config.timestamping.uncapped is not None:
            ts["uncapped"] = config.timestamping.uncapped
        out["timestamping"] = ts
    if config.delete_on_empty_min_age is not None:
        out["delete_on_empty"] = {"min_age_secs": config.delete_on_empty_min_age}
    return out


def stream_config(obj: dict[str, Any] | None) -> StreamConfig:
    """A StreamConfig from JSON (null fields stay None)."""
    if not obj:
        return StreamConfig()
    retention: int | str | None = None
    rp = obj.get("retention_policy")
    if isinstance(rp, dict):
        retention = "infinite" if "infinite" in rp else int(rp["age"])
    ts = obj.get("timestamping")
    timestamping = None
    if isinstance(ts, dict):
        timestamping = Timestamping(
            mode=TimestampingMode(ts["mode"]) if ts.get("mode") else None,
            uncapped=ts.get("uncapped"),
        )
    doe = obj.get("delete_on_empty")
    return StreamConfig(
        storage_class=_storage_class(obj.get("storage_class")),
        retention_policy=retention,  # type: ignore[arg-type]
        timestamping=timestamping,
        delete_on_empty_min_age=int(doe.get("min_age_secs", 0)) if isinstance(doe, dict) else None,
    )


def _storage_class(value: str | None) -> StorageClass | str | None:
    if not value:
        return None
    try:
        return StorageClass(value)
    except ValueError:  # a class newer than this client: keep the server's name
        return str(value)


def basin_config_json(config: BasinConfig) -> dict[str, Any]:
    """The set fields of a BasinConfig."""
    out: dict[str, Any] = {}
    if config.default_stream_config is not None:
        out["default_stream_config"] = stream_config_json(config.default_stream_config)
    if config.stream_cipher is not None:
        out["stream_cipher"] = config.stream_cipher.value
    if config.create_stream_on_append is not None:
        out["create_stream_on_append"] = config.create_stream_on_append
    if config.create_stream_on_read is not None:
        out["create_stream_on_read"] = config.create_stream_on_read
    return out


def basin_config(obj: dict[str, Any]) -> BasinConfig:
    """A BasinConfig from JSON."""
    dsc = obj.get("default_stream_config")
    cipher = obj.get("stream_cipher")
    return BasinConfig(
        default_stream_config=stream_config(dsc) if dsc else None,
        stream_cipher=Encryption(cipher) if cipher else None,
        create_stream_on_append=bool(obj.get("create_stream_on_append", False)),
        create_stream_on_read=bool(obj.get("create_stream_on_read", False)),
    )


def basin_info(obj: dict[str, Any]) -> BasinInfo:
    """A BasinInfo from JSON."""
    created = _time(obj.get("created_at"))
    assert created is not None
    return BasinInfo(
        name=obj["name"],
        location=obj.get("location"),
        created_at=created,
        deleted_at=_time(obj.get("deleted_at")),
    )


def stream_info(obj: dict[str, Any]) -> StreamInfo:
    """A StreamInfo from JSON."""
    created = _time(obj.get("created_at"))
    assert created is not None
    cipher = obj.get("cipher")
    return StreamInfo(
        name=obj["name"],
        created_at=created,
        deleted_at=_time(obj.get("deleted_at")),
        cipher=Encryption(cipher) if cipher else None,
    )


def location_info(obj: dict[str, Any]) -> LocationInfo:
    """A LocationInfo from JSON."""
    classes = obj.get("storage_classes")
    default = obj.get("default_storage_class")
    return LocationInfo(
        name=obj["name"],
        is_private=bool(obj.get("is_private", False)),
        storage_classes=[str(c) for c in classes] if isinstance(classes, list) else None,
        default_storage_class=str(default) if default is not None else None,
    )


def _resource_set(value: ExactMatch | PrefixMatch | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"exact": value.value} if isinstance(value, ExactMatch) else {"prefix": value.value}


def _resource_set_from(obj: dict[str, str] | None) -> ExactMatch | PrefixMatch | None:
    if not obj:
        return None
    return ExactMatch(obj["exact"]) if "exact" in obj else PrefixMatch(obj.get("prefix", ""))


_PERMISSION_JSON = {
    Permission.READ: {"read": True},
    Permission.WRITE: {"write": True},
    Permission.READ_WRITE: {"read": True, "write": True},
}


def _permission(obj: dict[str, Any] | None) -> Permission | None:
    if not obj:
        return None
    read, write = bool(obj.get("read")), bool(obj.get("write"))
    if read and write:
        return Permission.READ_WRITE
    return Permission.READ if read else Permission.WRITE if write else None


def scope_json(scope: AccessTokenScope) -> dict[str, Any]:
    """An AccessTokenScope as JSON."""
    out: dict[str, Any] = {
        "basins": _resource_set(scope.basins),
        "streams": _resource_set(scope.streams),
        "access_tokens": _resource_set(scope.access_tokens),
        "ops": [op.value for op in scope.ops],
    }
    if scope.op_groups is not None:
        groups = scope.op_groups
        out["op_groups"] = {
            name: _PERMISSION_JSON[perm] if perm else None
            for name, perm in (
                ("account", groups.account),
                ("basin", groups.basin),
                ("stream", groups.stream),
            )
        }
    return out


def access_token_info(obj: dict[str, Any]) -> AccessTokenInfo:
    """An AccessTokenInfo from JSON."""
    scope = obj.get("scope") or {}
    groups = scope.get("op_groups")
    return AccessTokenInfo(
        id=obj["id"],
        scope=AccessTokenScope(
            basins=_resource_set_from(scope.get("basins")),
            streams=_resource_set_from(scope.get("streams")),
            access_tokens=_resource_set_from(scope.get("access_tokens")),
            op_groups=OperationGroupPermissions(
                account=_permission(groups.get("account")),
                basin=_permission(groups.get("basin")),
                stream=_permission(groups.get("stream")),
            )
            if groups
            else None,
            ops=[Operation(op) for op in scope.get("ops") or []],
        ),
        expires_at=_time(obj.get("expires_at")),
        auto_prefix_streams=bool(obj.get("auto_prefix_streams", False)),
    )


def _unit(value: str) -> MetricUnit | str:
    try:
        return MetricUnit(value)
    except ValueError:  # a unit newer than this client: keep the server's name
        return str(value)


def _points(values: list[Any]) -> list[tuple[int, float]]:
    return [(int(t), float(v)) for t, v in values]


def metrics(values: list[dict[str, Any]]) -> list[Scalar | Accumulation | Gauge | Label]:
    """Metric values (``scalar``, ``accumulation``, ``gauge`` or ``label``); values of a
    kind this client does not know are left out."""
    out: list[Scalar | Accumulation | Gauge | Label] = []
    for obj in values:
        if "scalar" in obj:
            m = obj["scalar"]
            out.append(Scalar(m["name"], _unit(m["unit"]), float(m["value"])))
        elif "accumulation" in obj:
            m = obj["accumulation"]
            interval = m.get("interval")
            known = interval in TimeseriesInterval._value2member_map_
            out.append(
                Accumulation(
                    m["name"],
                    _unit(m["unit"]),
                    TimeseriesInterval(interval) if known else None,
                    _points(m.get("values", [])),
                )
            )
        elif "gauge" in obj:
            m = obj["gauge"]
            out.append(Gauge(m["name"], _unit(m["unit"]), _points(m.get("values", []))))
        elif "label" in obj:
            m = obj["label"]
            out.append(Label(m["name"], [str(v) for v in m.get("values", [])]))
    return out
