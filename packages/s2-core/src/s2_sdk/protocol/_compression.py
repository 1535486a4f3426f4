"""zstd and gzip, as used for HTTP bodies and S2S frame payloads."""

from __future__ import annotations

import gzip
import io
import zlib
from enum import IntEnum

import zstandard

from s2_sdk.protocol._limits import MAX_DECOMPRESSED_BYTES

__all__ = [
    "Codec",
    "CompressionError",
    "codec_from_accept_encoding",
    "codec_from_content_encoding",
    "compress",
    "decompress",
]


class CompressionError(ValueError):
    """A payload could not be decompressed, or expanded beyond the limit."""


class Codec(IntEnum):
    """Compression codecs, numbered as in the S2S frame flag bits."""

    NONE = 0
    ZSTD = 1
    GZIP = 2

    @property
    def content_encoding(self) -> str | None:
        """The HTTP ``Content-Encoding`` token, or None for no compression."""
        return _ENCODING_NAMES.get(self)


_ENCODING_NAMES = {Codec.ZSTD: "zstd", Codec.GZIP: "gzip"}
_ZSTD_COMPRESSOR = zstandard.ZstdCompressor(level=3)
_ZSTD_DECOMPRESSOR = zstandard.ZstdDecompressor()


def compress(data: bytes, codec: Codec) -> bytes:
    """Compress ``data`` with ``codec`` (the full gzip format, or a zstd frame)."""
    if codec is Codec.ZSTD:
        return _ZSTD_COMPRESSOR.compress(data)
    if codec is Codec.GZIP:
        return gzip.compress(data, compresslevel=6)
    return data


def decompress(data: bytes, codec: Codec, max_size: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress ``data``; zstd frames need not carry a content size.

    Raises:
        CompressionError: the data is corrupt or expands beyond ``max_size``.
    """
    if codec is Codec.NONE:
        return data
    try:
        if codec is Codec.ZSTD:
            with _ZSTD_DECOMPRESSOR.stream_reader(io.BytesIO(data)) as reader:
                out = reader.read(max_size + 1)
        else:
            d = zlib.decompressobj(wbits=31)
            out = d.decompress(data, max_size + 1)
    except (zstandard.ZstdError, zlib.error) as e:
        raise CompressionError(f"invalid {codec.name.lower()} payload: {e}") from e
    if len(out) > max_size:
        raise CompressionError(f"decompressed payload exceeds {max_size} bytes")
    return out


def codec_from_content_encoding(value: str | None) -> Codec | None:
    """Map a ``Content-Encoding`` value to a codec; None if it is not supported."""
    token = (value or "").strip().lower()
    if token in ("", "identity"):
        return Codec.NONE
    if token == "zstd":
        return Codec.ZSTD
    if token in ("gzip", "x-gzip"):
        return Codec.GZIP
    return None


def codec_from_accept_encoding(value: str | None) -> Codec:
    """Pick the codec for a response: zstd if listed anywhere, else gzip, else none."""
    tokens = {part.split(";")[0].strip().lower() for part in (value or "").split(",")}
    if "zstd" in tokens:
        return Codec.ZSTD
    if "gzip" in tokens or "x-gzip" in tokens:
        return Codec.GZIP
    return Codec.NONE
