"""Parsing what clients send: integers and JSON, refusing what the server could not use."""

from __future__ import annotations

import json
from typing import Any

from s2_sdk.protocol import ErrorCode

from s2_local.errors import ApiError

__all__ = ["MAX_JSON_DEPTH", "parse_json", "parse_uint"]


def parse_uint(raw: str, bits: int = 64) -> int | None:
    """``raw`` as an unsigned integer below ``2**bits``; None if it is anything else
    (checked before converting: a 5,000-digit string is not even parsed)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(2**bits)):
        return None
    value = int(raw)
    return value if value < 2**bits else None


MAX_JSON_DEPTH = 32
"""Deepest nesting accepted in a JSON document (S2's own go 5 levels deep)."""


def parse_json(data: str | bytes, code: ErrorCode, what: str) -> Any:
    """Parse JSON from a client, refusing what the server could not use with ``code``:
    invalid JSON, nesting deeper than :data:`MAX_JSON_DEPTH`, integers of more than 4,300
    digits, and strings that are not Unicode text (lone surrogates).

    Raises:
        ApiError: ``code`` (a 400) saying what is wrong.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise ApiError(code, f"invalid {what}: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, a huge integer
        raise ApiError(code, f"invalid {what}: {e}") from None
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    raise ApiError(code, f"invalid {what}: a string is not valid Unicode") from None
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ApiError(code, f"invalid {what}: nested deeper than {MAX_JSON_DEPTH}")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                stack.append((key, depth + 1))
                stack.append((child, depth + 1))
    return value
