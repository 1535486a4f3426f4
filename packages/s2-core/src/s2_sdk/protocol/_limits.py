"""Protocol limits shared by the client and the server."""

from __future__ import annotations

__all__ = [
    "COMPRESSION_THRESHOLD",
    "MAX_BATCH_METERED_BYTES",
    "MAX_BATCH_RECORDS",
    "MAX_DECOMPRESSED_BYTES",
    "MAX_FENCING_TOKEN_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_LIST_LIMIT",
    "MAX_RECORD_METERED_BYTES",
    "MAX_REQUEST_TOKEN_BYTES",
    "MAX_UNARY_READ_WAIT_SECS",
]

MAX_BATCH_RECORDS = 1000
"""Most records in one append batch (and in one unary read)."""

MAX_BATCH_METERED_BYTES = 1024 * 1024
"""Most metered bytes in one append batch (and in one unary read)."""

MAX_RECORD_METERED_BYTES = 1024 * 1024
"""Most metered bytes of a single record."""

MAX_FENCING_TOKEN_BYTES = 36
"""Longest fencing token, in UTF-8 bytes."""

MAX_REQUEST_TOKEN_BYTES = 36
"""Longest ``s2-request-token`` idempotency token."""

MAX_FRAME_BYTES = 2 * 1024 * 1024
"""Largest S2S frame (flag byte plus payload)."""

MAX_DECOMPRESSED_BYTES = MAX_FRAME_BYTES - 1
"""Largest payload a compressed frame or body may expand to."""

COMPRESSION_THRESHOLD = 1024
"""Payloads smaller than this are never compressed."""

MAX_LIST_LIMIT = 1000
"""Largest page of a list call."""

MAX_UNARY_READ_WAIT_SECS = 60
"""Longest long-poll of a unary read."""
