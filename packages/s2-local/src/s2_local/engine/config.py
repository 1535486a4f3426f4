"""Stream and basin configuration: parsing, defaults, resolution and patches.

A :class:`StreamConfig` may be partial (a basin's default stream config, a create
request); streams store it resolved, every field filled. Patches (PATCH bodies)
are tri-state: an absent field is left alone, ``null`` clears it (falling back to
the basin default, then to the system default), a value sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from s2_sdk.protocol import ErrorCode

from s2_local.errors import ApiError

__all__ = [
    "CIPHERS",
    "SYSTEM_DEFAULTS",
    "BasinConfig",
    "BasinPatch",
    "Retention",
    "StreamConfig",
    "StreamPatch",
    "parse_basin_config",
    "parse_basin_patch",
    "parse_stream_config",
    "parse_stream_patch",
]

Retention = int | Literal["infinite"]
STORAGE_CLASSES = ("standard", "express")
TIMESTAMPING_MODES = ("client-prefer", "client-require", "arrival")
CIPHERS = ("aegis-256", "aes-256-gcm")
_UNSET: Any = object()


def _bad(message: str) -> ApiError:
    return ApiError(ErrorCode.BAD_JSON, message)


def _expect_obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{what} must be a JSON object")
    return value


def _u64(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise _bad(f"{what} must be an unsigned 64-bit integer")
    return value


def _enum(value: Any, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise _bad(f"{what} must be one of {', '.join(allowed)}")
    return str(value)


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"{what} must be a boolean")
    return value


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """A stream configuration; None means "not set here"."""

    storage_class: str | None = None
    retention: Retention | None = None
    timestamping_mode: str | None = None
    timestamping_uncapped: bool | None = None
    delete_on_empty_min_age: int | None = None

    def merged_over(self, fallback: StreamConfig) -> StreamConfig:
        """Fields set here, else those of ``fallback``."""
        return StreamConfig(
            *(
                getattr(self, f.name)
                if getattr(self, f.name) is not None
                else getattr(fallback, f.name)
                for f in fields(self)
            )
        )

    def resolved(self, basin_default: StreamConfig) -> StreamConfig:
        """Every field filled: this config, then the basin default, then the system default."""
        return self.merged_over(basin_default).merged_over(SYSTEM_DEFAULTS)

    @property
    def is_empty(self) -> bool:
        """Whether no field is set."""
        return self == StreamConfig()

    @property
    def retention_secs(self) -> int | None:
        """Retention age in seconds, None for infinite (only on resolved configs)."""
        return None if self.retention in (None, "infinite") else int(self.retention)

    def to_json(self) -> dict[str, Any]:
        """The wire form; unset fields are ``null``."""
        retention: Any = None
        if self.retention == "infinite":
            retention = {"infinite": {}}
        elif self.retention is not None:
            retention = {"age": self.retention}
        timestamping = None
        if self.timestamping_mode is not None or self.timestamping_uncapped is not None:
            timestamping = {"mode": self.timestamping_mode, "uncapped": self.timestamping_uncapped}
        doe = None
        if self.delete_on_empty_min_age is not None:
            doe = {"min_age_secs": self.delete_on_empty_min_age}
        return {
            "storage_class": self.storage_class,
            "retention_policy": retention,
            "timestamping": timestamping,
            "delete_on_empty": doe,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> StreamConfig:
        """Inverse of :meth:`to_json` (for storage; trusts its input)."""
        return parse_stream_config(value)


SYSTEM_DEFAULTS = StreamConfig(
    storage_class="express",
    retention=7 * 24 * 3600,
    timestamping_mode="client-prefer",
    timestamping_uncapped=False,
    delete_on_empty_min_age=0,
)


def _parse_retention(value: Any) -> Retention:
    obj = _expect_obj(value, "retention_policy")
    if "infinite" in obj:
        _expect_obj(obj["infinite"], "retention_policy.infinite")
        return "infinite"
    if "age" in obj:
        age = _u64(obj["age"], "retention_policy.age")
        if age == 0:
            raise ApiError(ErrorCode.INVALID, "age must be greater than 0 seconds")
        return age
    raise _bad('retention_policy must be {"age": seconds} or {"infinite": {}}')


def parse_stream_config(value: Any) -> StreamConfig:
    """Parse a (possibly partial) StreamConfig JSON object; None gives an empty config."""
    if value is None:
        return StreamConfig()
    obj = _expect_obj(value, "stream config")
    config = StreamConfig()
    if obj.get("storage_class") is not None:
        config = replace(
            config, storage_class=_enum(obj["storage_class"], STORAGE_CLASSES, "storage_class")
        )
    if obj.get("retention_policy") is not None:
        config = replace(config, retention=_parse_retention(obj["retention_policy"]))
    if obj.get("timestamping") is not None:
        ts = _expect_obj(obj["timestamping"], "timestamping")
        if ts.get("mode") is not None:
            config = replace(
                config, timestamping_mode=_enum(ts["mode"], TIMESTAMPING_MODES, "timestamping.mode")
            )
        if ts.get("uncapped") is not None:
            config = replace(
                config, timestamping_uncapped=_bool(ts["uncapped"], "timestamping.uncapped")
            )
    if obj.get("delete_on_empty") is not None:
        doe = _expect_obj(obj["delete_on_empty"], "delete_on_empty")
        if doe.get("min_age_secs") is not None:
            age = _u64(doe["min_age_secs"], "delete_on_empty.min_age_secs")
            config = replace(config, delete_on_empty_min_age=age)
        else:
            config = replace(config, delete_on_empty_min_age=0)
    return config


@dataclass(frozen=True, slots=True)
class StreamPatch:
    """A StreamReconfiguration: the fields present, each a value or None (clear)."""

    changes: dict[str, Any]

    def apply(self, config: StreamConfig) -> StreamConfig:
        """The partial config with this patch applied (cleared fields become unset)."""
        return replace(config, **self.changes)


def parse_stream_patch(value: Any) -> StreamPatch:
    """Parse a StreamReconfiguration JSON object."""
    obj = _expect_obj(value, "stream reconfiguration")
    changes: dict[str, Any] = {}
    if "storage_class" in obj:
        sc = obj["storage_class"]
        changes["storage_class"] = (
            None if sc is None else _enum(sc, STORAGE_CLASSES, "storage_class")
        )
    if "retention_policy" in obj:
        rp = obj["retention_policy"]
        changes["retention"] = None if rp is None else _parse_retention(rp)
    if "timestamping" in obj:
        ts = obj["timestamping"]
        if ts is None:
            changes["timestamping_mode"] = None
            changes["timestamping_uncapped"] = None
        else:
            ts = _expect_obj(ts, "timestamping")
            if "mode" in ts:
                mode = ts["mode"]
                changes["timestamping_mode"] = (
                    None if mode is None else _enum(mode, TIMESTAMPING_MODES, "timestamping.mode")
                )
            if "uncapped" in ts:
                unc = ts["uncapped"]
                changes["timestamping_uncapped"] = (
                    None if unc is None else _bool(unc, "timestamping.uncapped")
                )
    if "delete_on_empty" in obj:
        doe = obj["delete_on_empty"]
        if doe is None:
            changes["delete_on_empty_min_age"] = None
        else:
            doe = _expect_obj(doe, "delete_on_empty")
            if "min_age_secs" in doe:
                age = doe["min_age_secs"]
                changes["delete_on_empty_min_age"] = (
                    None if age is None else _u64(age, "delete_on_empty.min_age_secs")
                )
    return StreamPatch(changes)


@dataclass(frozen=True, slots=True)
class BasinConfig:
    """A basin configuration."""

    default_stream_config: StreamConfig = StreamConfig()
    stream_cipher: str | None = None
    create_stream_on_append: bool = False
    create_stream_on_read: bool = False

    def to_json(self) -> dict[str, Any]:
        """The wire form (``default_stream_config`` is null when nothing is set)."""
        dsc = self.default_stream_config
        return {
            "default_stream_config": None if dsc.is_empty else dsc.to_json(),
            "stream_cipher": self.stream_cipher,
            "create_stream_on_append": self.create_stream_on_append,
            "create_stream_on_read": self.create_stream_on_read,
        }


def parse_basin_config(value: Any) -> BasinConfig:
    """Parse a BasinConfig JSON object; None gives the defaults."""
    if value is None:
        return BasinConfig()
    obj = _expect_obj(value, "basin config")
    cipher = obj.get("stream_cipher")
    return BasinConfig(
        default_stream_config=parse_stream_config(obj.get("default_stream_config")),
        stream_cipher=None if cipher is None else _enum(cipher, CIPHERS, "stream_cipher"),
        create_stream_on_append=_bool_or_default(obj, "create_stream_on_append"),
        create_stream_on_read=_bool_or_default(obj, "create_stream_on_read"),
    )


def _bool_or_default(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key)
    return False if value is None else _bool(value, key)


@dataclass(frozen=True, slots=True)
class BasinPatch:
    """A BasinReconfiguration."""

    default_stream_config: StreamPatch | None = _UNSET
    stream_cipher: str | None = _UNSET
    create_stream_on_append: bool = _UNSET
    create_stream_on_read: bool = _UNSET

    def apply(self, config: BasinConfig) -> BasinConfig:
        """The basin config with this patch applied."""
        if self.default_stream_config is not _UNSET:
            dsc = (
                StreamConfig()
                if self.default_stream_config is None
                else self.default_stream_config.apply(config.default_stream_config)
            )
            config = replace(config, default_stream_config=dsc)
        for name in ("stream_cipher", "create_stream_on_append", "create_stream_on_read"):
            value = getattr(self, name)
            if value is not _UNSET:
                config = replace(config, **{name: value})
        return config


def parse_basin_patch(value: Any) -> BasinPatch:
    """Parse a BasinReconfiguration JSON object."""
    obj = _expect_obj(value, "basin reconfiguration")
    kwargs: dict[str, Any] = {}
    if "default_stream_config" in obj:
        dsc = obj["default_stream_config"]
        kwargs["default_stream_config"] = None if dsc is None else parse_stream_patch(dsc)
    if "stream_cipher" in obj:
        cipher = obj["stream_cipher"]
        kwargs["stream_cipher"] = (
            None if cipher is None else _enum(cipher, CIPHERS, "stream_cipher")
        )
    for key in ("create_stream_on_append", "create_stream_on_read"):
        if key in obj:
            kwargs[key] = _bool(obj[key], key)
    return BasinPatch(**kwargs)
