"""Init files: basins and streams to have at start, in s2-lite's shape.

``{"basins": [{"name": ..., "config": {...}, "streams": [{"name": ..., "config": {...}}]}]}``,
with human durations (``"7days"``, ``"2h 30m"``) where the REST API takes seconds. The whole
file is checked before anything is applied, every problem reported together; applying is
create-or-reconfigure (a missing basin or stream is created, an existing one is given the
fields the file names), so the same file is safe on every start.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2_sdk.protocol import basin_name_error, stream_name_error

from s2_local.engine.account import Account
from s2_local.engine.config import parse_basin_config, parse_basin_patch, parse_stream_patch
from s2_local.errors import ApiError

__all__ = [
    "InitBasin",
    "InitFile",
    "InitFileError",
    "InitStream",
    "load_init_file",
    "parse_duration",
]

_UNITS = {
    **dict.fromkeys(("nsec", "ns"), 1e-9),
    **dict.fromkeys(("usec", "us"), 1e-6),
    **dict.fromkeys(("msec", "ms"), 1e-3),
    **dict.fromkeys(("seconds", "second", "sec", "s"), 1),
    **dict.fromkeys(("minutes", "minute", "min", "m"), 60),
    **dict.fromkeys(("hours", "hour", "hr", "h"), 3600),
    **dict.fromkeys(("days", "day", "d"), 86400),
    **dict.fromkeys(("weeks", "week", "w"), 7 * 86400),
    **dict.fromkeys(("months", "month", "M"), 2_630_016),
    **dict.fromkeys(("years", "year", "y"), 31_557_600),
}
_PART = re.compile(r"\s*(\d+)\s*([A-Za-z]+)")
_BASIN_KEYS = {"name", "config", "streams"}
_STREAM_KEYS = {"name", "config"}
_BASIN_CONFIG_KEYS = {
    "default_stream_config",
    "stream_cipher",
    "create_stream_on_append",
    "create_stream_on_read",
}
_STREAM_CONFIG_KEYS = {"storage_class", "retention_policy", "timestamping", "delete_on_empty"}


class InitFileError(ValueError):
    """An init file that cannot be used; the message names the file and every problem."""


def parse_duration(text: str) -> int:
    """Whole seconds of a human duration: ``"7days"``, ``"1week"``, ``"2h 30m"``, ``"0s"``.

    Raises:
        ValueError: not a duration.
    """
    total, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        unit = _UNITS.get(match.group(2)) or _UNITS.get(match.group(2).lower())
        if unit is None:
            raise ValueError(f"unknown unit {match.group(2)!r} in duration {text!r}")
        total += int(match.group(1)) * unit
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f'not a duration: {text!r} (say e.g. "7days" or "2h 30m")')
    return int(total)


@dataclass(frozen=True, slots=True)
class InitStream:
    """A stream of the file, its config in the REST API's form (None: none given)."""

    name: str
    config: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class InitBasin:
    """A basin of the file, its config in the REST API's form, and its streams."""

    name: str
    config: dict[str, Any] | None
    streams: tuple[InitStream, ...]


@dataclass(frozen=True, slots=True)
class InitFile:
    """A checked init file."""

    path: str
    basins: tuple[InitBasin, ...]

    async def apply(self, account: Account) -> None:
        """Create what is missing, reconfigure what exists (to the fields given)."""
        for basin in self.basins:
            if account.basins.get(basin.name) is None:
                await account.create_basin(basin.name, basin.config, None, None)
            elif basin.config is not None:
                await account.reconfigure_basin(basin.name, parse_basin_patch(basin.config))
            for stream in basin.streams:
                if account.basins[basin.name].streams.get(stream.name) is None:
                    await account.create_stream(basin.name, stream.name, stream.config, None)
                elif stream.config is not None:
                    patch = parse_stream_patch(stream.config)
                    await account.reconfigure_stream(basin.name, stream.name, patch)


def load_init_file(path: str | os.PathLike[str]) -> InitFile:
    """Read and check an init file.

    Raises:
        InitFileError: it cannot be read, is not JSON, or has problems (all listed).
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InitFileError(f"init file {path}: {e}") from None
    problems: list[str] = []
    basins = _basins(data, problems)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise InitFileError(f"init file {path} has {len(problems)} problem(s):\n{listed}")
    return InitFile(str(path), basins)


def _basins(data: Any, problems: list[str]) -> tuple[InitBasin, ...]:
    if not isinstance(data, dict):
        problems.append("the top level must be an object")
        return ()
    problems += [f"unknown key {k!r} at the top level" for k in sorted(set(data) - {"basins"})]
    entries = data.get("basins", [])
    if not isinstance(entries, list):
        problems.append("basins must be an array")
        return ()
    basins: list[InitBasin] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"basins[{i}]"
        name = _name(entry, where, _BASIN_KEYS, basin_name_error, problems)
        if name is None:
            continue
        where = f"basin {name!r}"
        if name in seen:
            problems.append(f"{where} appears twice")
        seen.add(name)
        config = _basin_config(entry.get("config"), where, problems)
        streams: list[InitStream] = []
        names: set[str] = set()
        raw_streams = entry.get("streams", [])
        if not isinstance(raw_streams, list):
            problems.append(f"{where}: streams must be an array")
            raw_streams = []
        for j, raw in enumerate(raw_streams):
            stream = _name(raw, f"{where} streams[{j}]", _STREAM_KEYS, stream_name_error, problems)
            if stream is None:
                continue
            if stream in names:
                problems.append(f"{where}: stream {stream!r} appears twice")
            names.add(stream)
            stream_where = f"{where} stream {stream!r}"
            streams.append(
                InitStream(stream, _stream_config(raw.get("config"), stream_where, problems))
            )
        basins.append(InitBasin(name, config, tuple(streams)))
    return tuple(basins)


def _name(entry: Any, where: str, keys: set[str], error: Any, problems: list[str]) -> str | None:
    if not isinstance(entry, dict):
        problems.append(f"{where} must be an object")
        return None
    problems += [f"{where}: unknown key {k!r}" for k in sorted(set(entry) - keys)]
    name = entry.get("name")
    if not isinstance(name, str):
        problems.append(f"{where}: a name (a string) is required")
        return None
    reason = error(name)
    if reason:
        problems.append(f"{where}: invalid name {name!r}: {reason}")
        return None
    return name


def _known_keys(raw: Any, keys: set[str], where: str, problems: list[str]) -> dict[str, Any] | None:
    """A config object's known keys (None if there is none; unknown keys are problems)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: config must be an object")
        return None
    problems += [f"{where}: unknown config key {k!r}" for k in sorted(set(raw) - keys)]
    return {k: v for k, v in raw.items() if k in keys}


def _basin_config(raw: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    """A basin config in the REST API's form (checked as the API would check it)."""
    config = _known_keys(raw, _BASIN_CONFIG_KEYS, where, problems)
    if config is None:
        return None
    if "default_stream_config" in config:
        config["default_stream_config"] = _stream_config(
            config["default_stream_config"], f"{where} default_stream_config", problems
        )
    try:
        parse_basin_config(config)
    except ApiError as e:
        problems.append(f"{where}: {e.message}")
    return config


def _stream_config(raw: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    """A stream config in the REST API's form: durations become seconds."""
    config = _known_keys(raw, _STREAM_CONFIG_KEYS, where, problems)
    if config is None:
        return None
    try:
        retention = config.get("retention_policy")
        if isinstance(retention, str):
            config["retention_policy"] = (
                {"infinite": {}}
                if retention.lower() == "infinite"
                else {"age": parse_duration(retention)}
            )
        elif retention is not None:
            problems.append(f'{where}: retention_policy must be "infinite" or a duration')
            config.pop("retention_policy")
        doe = config.get("delete_on_empty")
        if isinstance(doe, dict):
            problems += [
                f"{where}: unknown delete_on_empty key {k!r}"
                for k in sorted(set(doe) - {"min_age"})
            ]
            min_age = doe.get("min_age")
            if min_age is not None and not isinstance(min_age, str):
                raise ValueError("delete_on_empty.min_age must be a duration")
            config["delete_on_empty"] = (
                {} if min_age is None else {"min_age_secs": parse_duration(min_age)}
            )
        parse_stream_patch(config)
    except ValueError as e:
        problems.append(f"{where}: {e}")
    except ApiError as e:
        problems.append(f"{where}: {e.message}")
    return config
