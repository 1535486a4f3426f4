"""Client-supplied-key encryption of record headers and bodies.

A stream with a cipher stores each ordinary record as a single opaque body
(nonce ‖ ciphertext ‖ tag of the serialized headers and body); command records
stay in plain text. The key travels base64-encoded in ``s2-encryption-key`` and
is never stored. The record's stream position is bound in as associated data.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyaegis import Aegis256, AegisError
from s2_sdk.protocol import ErrorCode

from s2_local.errors import ApiError

__all__ = ["AES_GCM_MAX_SEQ_NUM", "RecordCipher", "parse_key_header"]

AES_GCM_MAX_SEQ_NUM = 2**32 - 1
_AEGIS = Aegis256()
_AAD = struct.Struct(">Q")


def parse_key_header(value: str | None) -> bytes | None:
    """Decode an ``s2-encryption-key`` header value (None when absent).

    Raises:
        ApiError: ``bad_header`` when the value is not base64 of exactly 32 bytes.
    """
    if value is None:
        return None
    text = value.strip()
    if not 1 <= len(text) <= 44:
        raise ApiError(
            ErrorCode.BAD_HEADER, "invalid s2-encryption-key: expected base64 of 32 bytes"
        )
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ApiError(ErrorCode.BAD_HEADER, "invalid s2-encryption-key: not valid base64") from e
    if len(key) != 32:
        raise ApiError(
            ErrorCode.BAD_HEADER, f"invalid s2-encryption-key: {len(key)} bytes, expected 32"
        )
    return key


class RecordCipher:
    """Seals and opens record payloads with one stream's algorithm and a client key."""

    __slots__ = ("_aes", "_key", "algorithm")

    def __init__(self, algorithm: str, key: bytes) -> None:
        self.algorithm = algorithm
        self._key = key
        self._aes = AESGCM(key) if algorithm == "aes-256-gcm" else None

    def seal(self, plaintext: bytes, seq_num: int) -> bytes:
        """Encrypt ``plaintext`` for the record at ``seq_num``."""
        aad = _AAD.pack(seq_num)
        if self._aes is not None:
            nonce = os.urandom(12)
            return nonce + self._aes.encrypt(nonce, plaintext, aad)
        nonce = os.urandom(32)
        return nonce + _AEGIS.encrypt(self._key, nonce, plaintext, aad)

    def open(self, sealed: bytes, seq_num: int) -> bytes:
        """Decrypt a sealed payload.

        Raises:
            ApiError: ``decryption_failed`` for a wrong key or a tampered record.
        """
        aad = _AAD.pack(seq_num)
        try:
            if self._aes is not None:
                return self._aes.decrypt(sealed[:12], sealed[12:], aad)
            return bytes(_AEGIS.decrypt(self._key, sealed[:32], sealed[32:], aad))
        except (InvalidTag, AegisError, ValueError) as e:
            raise ApiError(
                ErrorCode.DECRYPTION_FAILED, "failed to decrypt record: wrong encryption key?"
            ) from e
