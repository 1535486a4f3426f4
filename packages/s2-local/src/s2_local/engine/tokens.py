"""The access-token registry: issue, list, revoke, and authenticate requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from s2_sdk.protocol import ErrorCode

from s2_local.engine.access import (
    ROOT,
    AccessToken,
    Principal,
    Scope,
    digest,
    new_token_value,
    parse_issue_request,
)
from s2_local.engine.clock import Clock
from s2_local.errors import ApiError
from s2_local.storage import Store

__all__ = ["Tokens"]


class Tokens:
    """Issued tokens, keyed by id, found by the hash of their value."""

    def __init__(self, store: Store, clock: Clock, root_token: str | None) -> None:
        self._store = store
        self._clock = clock
        self.by_id: dict[str, AccessToken] = {}
        self._by_digest: dict[str, str] = {}
        self._root = digest(root_token) if root_token else None
        self.enabled = root_token is not None

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a request (root when auth is off).

        Raises:
            ApiError: 401 ``authn`` for a missing, unknown, revoked or expired token.
        """
        if not self.enabled:
            return ROOT
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(ErrorCode.AUTHN, "missing bearer access token")
        hashed = digest(value.strip())
        if hashed == self._root:
            return ROOT
        token_id = self._by_digest.get(hashed)
        token = self.by_id.get(token_id) if token_id else None
        if token is None:
            raise ApiError(ErrorCode.AUTHN, "unknown or revoked access token")
        if token.expires_at is not None and token.expires_at.timestamp() <= self._clock.now():
            raise ApiError(ErrorCode.AUTHN, "access token expired")
        prefix = (
            token.scope.streams.value if token.auto_prefix_streams and token.scope.streams else ""
        )
        return Principal(token.id, token.scope, token.expires_at, prefix)

    def check(self, principal: Principal) -> None:
        """Raise 401 ``authn`` if the token of ``principal`` was revoked or has expired
        since it authenticated (open sessions call this as they go)."""
        if principal.token_id is None:
            return  # the root token, or authentication is off
        token = self.by_id.get(principal.token_id)
        if token is None or token.scope is not principal.scope:
            raise ApiError(ErrorCode.AUTHN, "the access token was revoked")
        if token.expires_at is not None and token.expires_at.timestamp() <= self._clock.now():
            raise ApiError(ErrorCode.AUTHN, "the access token expired")

    async def issue(self, principal: Principal, body: Any) -> str:
        """Issue a token within the caller's scope; returns its value (shown once)."""
        token_id, scope, expires_at, auto_prefix = parse_issue_request(body)
        principal.authorize("issue-access-token", token_id=token_id)
        if not scope.within(principal.scope):
            raise ApiError(
                ErrorCode.PERMISSION_DENIED, "a token can only issue tokens within its own scope"
            )
        if principal.expires_at is not None:
            if expires_at is None:
                expires_at = principal.expires_at
            elif expires_at > principal.expires_at:
                raise ApiError(
                    ErrorCode.PERMISSION_DENIED, "expires_at is after the issuing token's expiry"
                )
        if expires_at is not None and expires_at.timestamp() <= self._clock.now():
            raise ApiError(ErrorCode.INVALID, "expires_at must be in the future")
        if token_id in self.by_id:
            raise ApiError(
                ErrorCode.RESOURCE_ALREADY_EXISTS, f"access token `{token_id}` already exists"
            )
        value = new_token_value()
        token = AccessToken(token_id, scope, expires_at, auto_prefix, digest(value))
        await self._store.persist_meta({"op": "token", **self._to_json(token)})
        self._add(token)
        return value

    async def revoke(self, principal: Principal, token_id: str) -> None:
        """Revoke a token (404 ``access_token_not_found`` if there is none)."""
        principal.authorize("revoke-access-token", token_id=token_id)
        token = self.by_id.get(token_id)
        if token is None:
            raise ApiError(ErrorCode.ACCESS_TOKEN_NOT_FOUND, f"access token `{token_id}` not found")
        await self._store.persist_meta({"op": "token_gone", "id": token_id})
        self.forget(token_id)

    def listed(self, principal: Principal) -> list[str]:
        """Ids of the tokens the caller may see."""
        return [i for i in self.by_id if principal.sees("token", i)]

    def restore(self, op: dict[str, Any]) -> None:
        """Re-apply a persisted token change (recovery)."""
        if op["op"] == "token":
            self._add(
                AccessToken(
                    op["id"],
                    Scope.parse(op["scope"]),
                    datetime.fromisoformat(op["expires_at"]) if op["expires_at"] else None,
                    op["auto_prefix_streams"],
                    op["digest"],
                )
            )
        else:
            self.forget(op["id"])

    def forget(self, token_id: str) -> None:
        """Drop a token from memory."""
        token = self.by_id.pop(token_id, None)
        if token is not None:
            self._by_digest.pop(token.digest, None)

    def _add(self, token: AccessToken) -> None:
        self.by_id[token.id] = token
        self._by_digest[token.digest] = token.id

    @staticmethod
    def _to_json(token: AccessToken) -> dict[str, Any]:
        return {
            "id": token.id,
            "scope": token.scope.to_json(),
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            "auto_prefix_streams": token.auto_prefix_streams,
            "digest": token.digest,
        }
