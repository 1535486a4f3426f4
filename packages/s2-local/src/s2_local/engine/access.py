"""The access-token model: scopes, tokens, the principal a request acts as, and the
authorization of every request (opt-in auth mode); the registry of issued tokens is
:mod:`s2_local.engine.tokens`.

Token values are random secrets returned once at issue; only their SHA-256 is
kept. In auth mode every request needs ``Authorization: Bearer <token>``: a
missing, unknown, revoked or expired token is 401 ``authn``; an operation or a
resource outside the token's scope is 403 ``permission_denied``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from s2_sdk.protocol import ErrorCode, access_token_id_error

from s2_local.errors import ApiError

__all__ = [
    "OPERATIONS",
    "AccessToken",
    "ROOT",
    "Principal",
    "ResourceSet",
    "Scope",
    "permitted_commands",
    "parse_issue_request",
]

Group = Literal["account", "basin", "stream"]
# operation → (group, is_write)
OPERATIONS: dict[str, tuple[Group, bool]] = {
    "list-basins": ("account", False),
    "create-basin": ("account", True),
    "delete-basin": ("account", True),
    "reconfigure-basin": ("account", True),
    "get-basin-config": ("account", False),
    "issue-access-token": ("account", True),
    "revoke-access-token": ("account", True),
    "list-access-tokens": ("account", False),
    "account-metrics": ("account", False),
    "list-locations": ("account", False),
    "get-default-location": ("account", False),
    "set-default-location": ("account", True),
    "list-streams": ("basin", False),
    "create-stream": ("basin", True),
    "delete-stream": ("basin", True),
    "get-stream-config": ("basin", False),
    "reconfigure-stream": ("basin", True),
    "basin-metrics": ("basin", False),
    "check-tail": ("stream", False),
    "append": ("stream", True),
    "read": ("stream", False),
    "trim": ("stream", True),
    "fence": ("stream", True),
    "stream-metrics": ("stream", False),
}


def _bad(message: str) -> ApiError:
    return ApiError(ErrorCode.BAD_JSON, message)


@dataclass(frozen=True, slots=True)
class ResourceSet:
    """``{"exact": s}`` (empty matches nothing) or ``{"prefix": s}`` (empty matches all)."""

    kind: Literal["exact", "prefix"]
    value: str

    def matches(self, name: str) -> bool:
        if self.kind == "exact":
            return bool(self.value) and name == self.value
        return name.startswith(self.value)

    def within(self, other: ResourceSet | None) -> bool:
        """Whether everything this set matches, ``other`` matches too."""
        if other is None:
            return False
        if other.kind == "exact":
            return self.kind == "exact" and (self.value == other.value or not self.value)
        return self.value.startswith(other.value) or (self.kind == "exact" and not self.value)

    def to_json(self) -> dict[str, str]:
        return {self.kind: self.value}

    @classmethod
    def parse(cls, value: Any, what: str) -> ResourceSet | None:
        if value is None:
            return None
        if not isinstance(value, dict) or len(value) != 1:
            raise _bad(f'{what} must be {{"exact": name}} or {{"prefix": prefix}}')
        ((kind, text),) = value.items()
        if kind not in ("exact", "prefix") or not isinstance(text, str):
            raise _bad(f'{what} must be {{"exact": name}} or {{"prefix": prefix}}')
        return cls(kind, text)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a token may do, and on which basins, streams and tokens."""

    basins: ResourceSet | None = None
    streams: ResourceSet | None = None
    access_tokens: ResourceSet | None = None
    groups: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    ops: frozenset[str] = frozenset()
    _permitted: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        allowed = set(self.ops)
        for op, (group, write) in OPERATIONS.items():
            read_ok, write_ok = self.groups.get(group, (False, False))
            if (write and write_ok) or (not write and read_ok):
                allowed.add(op)
        object.__setattr__(self, "_permitted", frozenset(allowed))  # checked on every request

    @classmethod
    def root(cls) -> Scope:
        everything = ResourceSet("prefix", "")
        return cls(everything, everything, everything, {}, frozenset(OPERATIONS))

    def permitted(self) -> frozenset[str]:
        """Every operation allowed, by explicit op or by group permission."""
        return self._permitted

    def within(self, parent: Scope) -> bool:
        """Whether this scope grants nothing ``parent`` does not."""
        if not self.permitted() <= parent.permitted():
            return False
        return all(
            mine is None or mine.within(theirs)
            for mine, theirs in (
                (self.basins, parent.basins),
                (self.streams, parent.streams),
                (self.access_tokens, parent.access_tokens),
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "basins": self.basins.to_json() if self.basins else None,
            "streams": self.streams.to_json() if self.streams else None,
            "access_tokens": self.access_tokens.to_json() if self.access_tokens else None,
            "op_groups": {
                g: {"read": r, "write": w} if (r or w) else None
                for g in ("account", "basin", "stream")
                for r, w in (self.groups.get(g, (False, False)),)
            },
            "ops": sorted(self.ops),
        }

    @classmethod
    def parse(cls, value: Any) -> Scope:
        if not isinstance(value, dict):
            raise _bad("scope must be a JSON object")
        groups: dict[str, tuple[bool, bool]] = {}
        raw_groups = value.get("op_groups") or {}
        if not isinstance(raw_groups, dict):
            raise _bad("scope.op_groups must be an object")
        for name, perm in raw_groups.items():
            if name not in ("account", "basin", "stream"):
                raise _bad(f"unknown operation group {name!r}")
            if perm is None:
                continue
            if not isinstance(perm, dict):
                raise _bad(f"scope.op_groups.{name} must be {{read, write}}")
            groups[name] = (bool(perm.get("read")), bool(perm.get("write")))
        ops = value.get("ops") or []
        if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
            raise _bad("scope.ops must be a list of operation names")
        if any(op not in OPERATIONS for op in ops):
            raise _bad(f"scope.ops must list operations from: {', '.join(OPERATIONS)}")
        return cls(
            basins=ResourceSet.parse(value.get("basins"), "scope.basins"),
            streams=ResourceSet.parse(value.get("streams"), "scope.streams"),
            access_tokens=ResourceSet.parse(value.get("access_tokens"), "scope.access_tokens"),
            groups=groups,
            ops=frozenset(ops),
        )


@dataclass(slots=True)
class AccessToken:
    """An issued token (its value is never kept, only a hash of it)."""

    id: str
    scope: Scope
    expires_at: datetime | None
    auto_prefix_streams: bool
    digest: str

    def info_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z")
            if self.expires_at
            else None,
            "auto_prefix_streams": self.auto_prefix_streams,
            "scope": self.scope.to_json(),
        }


def digest(value: str) -> str:
    """The stored form of a token value."""
    return hashlib.sha256(value.encode()).hexdigest()


def new_token_value() -> str:
    """A fresh secret token value."""
    return "s2l_" + base64.urlsafe_b64encode(os.urandom(30)).decode()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's scope (the root token may do anything)."""

    token_id: str | None
    scope: Scope
    expires_at: datetime | None = None
    auto_prefix: str = ""

    def authorize(
        self,
        op: str,
        basin: str | None = None,
        stream: str | None = None,
        token_id: str | None = None,
    ) -> None:
        """Raise 403 ``permission_denied`` unless the scope allows ``op`` on these resources."""
        scope = self.scope
        if op not in scope.permitted():
            raise ApiError(
                ErrorCode.PERMISSION_DENIED, f"operation `{op}` is not permitted by this token"
            )
        for name, rs, what in (
            (basin, scope.basins, "basin"),
            (stream, scope.streams, "stream"),
            (token_id, scope.access_tokens, "access token"),
        ):
            if name is not None and (rs is None or not rs.matches(name)):
                raise ApiError(
                    ErrorCode.PERMISSION_DENIED, f"{what} `{name}` is outside this token's scope"
                )

    def sees(self, kind: Literal["basin", "stream", "token"], name: str) -> bool:
        """Whether a listed resource is within scope (listings are filtered)."""
        rs = {
            "basin": self.scope.basins,
            "stream": self.scope.streams,
            "token": self.scope.access_tokens,
        }[kind]
        return rs is not None and rs.matches(name)


ROOT = Principal(None, Scope.root())
"""The caller with the root token, or any caller when authentication is off."""


def permitted_commands(principal: Principal) -> frozenset[str]:
    """The command records (``fence``, ``trim``) the caller may append."""
    return frozenset({"fence", "trim"} & principal.scope.permitted())


def parse_issue_request(body: Any) -> tuple[str, Scope, datetime | None, bool]:
    """Validate an IssueAccessTokenRequest."""
    if not isinstance(body, dict):
        raise _bad("issue access token request must be a JSON object")
    token_id = body.get("id")
    if not isinstance(token_id, str) or access_token_id_error(token_id):
        raise _bad(access_token_id_error(str(token_id)) or "`id` must be a string")
    scope = Scope.parse(body.get("scope"))
    expires = body.get("expires_at")
    expires_at = None
    if expires is not None:
        try:
            expires_at = datetime.fromisoformat(str(expires))
        except ValueError as e:
            raise _bad(f"invalid expires_at {expires!r}") from e
        if expires_at.tzinfo is None:
            raise _bad("expires_at must include a time zone")
    auto_prefix = body.get("auto_prefix_streams", False)
    if not isinstance(auto_prefix, bool):
        raise _bad("auto_prefix_streams must be a boolean")
    if not scope.permitted():
        raise ApiError(ErrorCode.INVALID, "access token scope must permit at least one operation")
    streams = scope.streams
    if auto_prefix and (streams is None or streams.kind != "prefix" or not streams.value):
        raise ApiError(ErrorCode.INVALID, "auto_prefix_streams requires a stream prefix scope")
    return token_id, scope, expires_at, auto_prefix
