"""Stream and basin configuration: parsing, defaults, resolution and patches.

A :class:`StreamConfig` may be partial (a basin's default stream config, a create
request); streams store it resolved, every field filled. Patches (PATCH bodies)
are tri-state: an absent field is left alone, ``null`` clears it (falling back to
the basin default, then to the system default), a value sets it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    "Timestamping",
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
class Timestamping:
    """How a stream's records get their timestamps (as ``s2_sdk.Timestamping``)."""

    mode: str | None = None
    uncapped: bool | None = None


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """A stream configuration, in ``s2_sdk.StreamConfig``'s vocabulary; None means "not
    set here" (``timestamping``'s fields likewise)."""

    storage_class: str | None = None
    retention_policy: Retention | None = None
    timestamping: Timestamping = Timestamping()
    delete_on_empty_min_age: int | None = None

    def merged_over(self, fallback: StreamConfig) -> StreamConfig:
        """Fields set here, else those of ``fallback``."""
        config = self
        for leaf in _LEAVES:
            if leaf.get(config) is None:
                config = leaf.set(config, leaf.get(fallback))
        return config

    def resolved(self, basin_default: StreamConfig) -> StreamConfig:
        """Every field filled: this config, then the basin default, then the system default."""
        return _resolved(self, basin_default)

    @property
    def is_empty(self) -> bool:
        """Whether no field is set."""
        return self == StreamConfig()

    @property
    def retention_secs(self) -> int | None:
        """Retention age in seconds, None for infinite (only on resolved configs)."""
        return None if self.retention_policy in (None, "infinite") else int(self.retention_policy)

    def to_json(self) -> dict[str, Any]:
        """The wire form; unset fields are ``null`` (an object whose fields are all unset too)."""
        out: dict[str, Any] = {}
        for leaf in _LEAVES:
            value = leaf.get(self)
            parent, key = leaf.json[:-1], leaf.json[-1]
            if not parent:
                out[key] = None if value is None else leaf.dump(value)
                continue
            holder = out.get(parent[0])
            if value is not None:
                holder = out[parent[0]] = holder or {}
                holder[key] = leaf.dump(value)
            elif holder is not None:
                holder[key] = None
            else:
                out[parent[0]] = None
        if out["timestamping"] is not None:  # a partly set one names both fields
            out["timestamping"] = {"mode": None, "uncapped": None, **out["timestamping"]}
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> StreamConfig:
        """Inverse of :meth:`to_json` (for storage; trusts its input)."""
        return parse_stream_config(value)


SYSTEM_DEFAULTS = StreamConfig(
    storage_class="express",
    retention_policy=7 * 24 * 3600,
    timestamping=Timestamping(mode="client-prefer", uncapped=False),
    delete_on_empty_min_age=0,
)


def _parse_retention(value: Any, what: str) -> Retention:
    obj = _expect_obj(value, what)
    if "infinite" in obj:
        _expect_obj(obj["infinite"], f"{what}.infinite")
        return "infinite"
    if "age" in obj:
        age = _u64(obj["age"], f"{what}.age")
        if age == 0:
            raise ApiError(ErrorCode.INVALID, "age must be greater than 0 seconds")
        return age
    raise _bad(f'{what} must be {{"age": seconds}} or {{"infinite": {{}}}}')


def _dump_retention(value: Retention) -> dict[str, Any]:
    return {"infinite": {}} if value == "infinite" else {"age": value}


@dataclass(frozen=True, slots=True)
class _Leaf:
    """One field of a stream config: where it is in the JSON and on :class:`StreamConfig`,
    how it is parsed and written, and what a JSON object holding it means without it."""

    json: tuple[str, ...]
    attr: tuple[str, ...]
    parse: Callable[[Any, str], Any]
    dump: Callable[[Any], Any] = lambda value: value
    implied: Any = None
    """The value when the enclosing object is given without this field (config, not patch)."""

    def get(self, config: StreamConfig) -> Any:
        value: Any = config
        for name in self.attr:
            value = getattr(value, name)
        return value

    def set(self, config: StreamConfig, value: Any) -> StreamConfig:
        if len(self.attr) == 1:
            return replace(config, **{self.attr[0]: value})
        outer, inner = self.attr
        return replace(config, **{outer: replace(getattr(config, outer), **{inner: value})})


_LEAVES = (
    _Leaf(("storage_class",), ("storage_class",), lambda v, w: _enum(v, STORAGE_CLASSES, w)),
    _Leaf(("retention_policy",), ("retention_policy",), _parse_retention, _dump_retention),
    _Leaf(
        ("timestamping", "mode"),
        ("timestamping", "mode"),
        lambda v, w: _enum(v, TIMESTAMPING_MODES, w),
    ),
    _Leaf(("timestamping", "uncapped"), ("timestamping", "uncapped"), _bool),
    _Leaf(("delete_on_empty", "min_age_secs"), ("delete_on_empty_min_age",), _u64, implied=0),
)
"""Every field of a stream config: parsing, patching, defaults and the wire form follow it."""


@functools.lru_cache(maxsize=256)
def _resolved(config: StreamConfig, basin_default: StreamConfig) -> StreamConfig:
    """(Cached: streams created on demand resolve the same pair again and again.)"""
    return config.merged_over(basin_default).merged_over(SYSTEM_DEFAULTS)


def parse_stream_config(value: Any) -> StreamConfig:
    """Parse a (possibly partial) StreamConfig JSON object; None gives an empty config."""
    config = StreamConfig()
    if value is None:
        return config
    obj = _expect_obj(value, "stream config")
    for leaf in _LEAVES:
        holder, _ = _find(obj, leaf.json)
        if holder is None:
            continue
        raw = holder.get(leaf.json[-1])
        if raw is not None:
            config = leaf.set(config, leaf.parse(raw, ".".join(leaf.json)))
        elif leaf.implied is not None:
            config = leaf.set(config, leaf.implied)
    return config


def _find(obj: dict[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any] | None, bool]:
    """The object holding ``path``'s last key (None if an enclosing object is absent or
    null), and whether every enclosing key was present (null included)."""
    holder: Any = obj
    for key in path[:-1]:
        if key not in holder:
            return None, False
        if holder[key] is None:
            return None, True
        holder = _expect_obj(holder[key], key)
    return holder, True


@dataclass(frozen=True, slots=True)
class StreamPatch:
    """A StreamReconfiguration: the fields present, each a value or None (clear)."""

    changes: tuple[tuple[_Leaf, Any], ...]

    def apply(self, config: StreamConfig) -> StreamConfig:
        """The partial config with this patch applied (cleared fields become unset)."""
        for leaf, value in self.changes:
            config = leaf.set(config, value)
        return config


def parse_stream_patch(value: Any) -> StreamPatch:
    """Parse a StreamReconfiguration JSON object: an absent field is left alone, ``null``
    clears it, an object set to ``null`` clears every field in it."""
    obj = _expect_obj(value, "stream reconfiguration")
    changes: list[tuple[_Leaf, Any]] = []
    for leaf in _LEAVES:
        holder, present = _find(obj, leaf.json)
        if holder is None:
            if present:  # an enclosing object is null
                changes.append((leaf, None))
            continue
        if leaf.json[-1] in holder:
            raw = holder[leaf.json[-1]]
            changes.append((leaf, None if raw is None else leaf.parse(raw, ".".join(leaf.json))))
    return StreamPatch(tuple(changes))


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
