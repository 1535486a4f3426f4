"""S2S framing: a 3-byte big-endian length, a flag byte, then the payload.

Flag byte ``T CC A RRRR``: T = terminal, CC = compression (00 none, 01 zstd,
10 gzip), A = reconnect advised. A terminal payload is a 2-byte big-endian HTTP
status followed by a JSON error body; terminal frames are never compressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from s2_sdk.protocol._compression import Codec, CompressionError, compress, decompress
from s2_sdk.protocol._limits import COMPRESSION_THRESHOLD, MAX_FRAME_BYTES

__all__ = [
    "Frame",
    "FrameDecoder",
    "FrameError",
    "encode_frame",
    "encode_terminal_frame",
]

_TERMINAL = 0x80
_RECONNECT = 0x10
_CODEC_SHIFT = 5


class FrameError(ValueError):
    """Bytes that are not a valid S2S frame."""


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame; ``payload`` is already decompressed."""

    payload: bytes
    terminal: bool = False
    reconnect_advised: bool = False

    def terminal_error(self) -> tuple[int, bytes]:
        """Split a terminal payload into (HTTP status, JSON body bytes)."""
        if len(self.payload) < 2:
            raise FrameError("terminal frame shorter than its 2-byte status")
        return int.from_bytes(self.payload[:2], "big"), self.payload[2:]


def encode_frame(
    payload: bytes, codec: Codec = Codec.NONE, *, reconnect_advised: bool = False
) -> bytes:
    """Frame a message, compressing it with ``codec`` when it is at least 1 KiB."""
    flag = _RECONNECT if reconnect_advised else 0
    if codec is not Codec.NONE and len(payload) >= COMPRESSION_THRESHOLD:
        compressed = compress(payload, codec)
        if len(compressed) + 1 <= MAX_FRAME_BYTES:
            payload = compressed
            flag |= codec << _CODEC_SHIFT
    length = len(payload) + 1
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
    return length.to_bytes(3, "big") + bytes((flag,)) + payload


def encode_terminal_frame(status: int, body: bytes) -> bytes:
    """Frame an error that ends a session."""
    payload = status.to_bytes(2, "big") + body
    return (len(payload) + 1).to_bytes(3, "big") + bytes((_TERMINAL,)) + payload


class FrameDecoder:
    """Incremental decoder: feed it bytes as they arrive, get whole frames back.

    Chunks that end in the middle of a frame are kept aside, not copied into a growing
    buffer, until the frame is whole: a frame costs one copy of its payload.
    """

    __slots__ = ("_chunks", "_max_frame", "_need", "_size")

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._need = 0
        self._max_frame = max_frame

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return self._size

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data`` and return every frame it completes.

        Raises:
            FrameError: the stream is malformed; the decoder is then unusable.
        """
        frames: list[Frame] = []
        if self._chunks:
            self._chunks.append(data)
            self._size += len(data)
            if self._size < self._need:
                return []
            data = self._first_of_chunks(frames)
        pos, n = 0, len(data)
        while n - pos >= 3:
            length = int.from_bytes(data[pos : pos + 3], "big")
            if length == 0:
                raise FrameError("frame without a flag byte")
            if length > self._max_frame:
                raise FrameError(f"frame of {length} bytes exceeds {self._max_frame}")
            end = pos + 3 + length
            if end > n:
                break
            frames.append(_decode(data[pos + 3], bytes(data[pos + 4 : end])))
            pos = end
        if pos < n:
            rest = bytes(data[pos:])
            self._chunks, self._size = [rest], len(rest)
            self._need = 3 + int.from_bytes(rest[:3], "big") if len(rest) >= 3 else 3
        return frames

    def _first_of_chunks(self, frames: list[Frame]) -> bytes:
        """The chunks kept hold a whole frame now: decode it (its payload copied once, out
        of the chunks) and return what follows it, to decode like new data."""
        chunks, size = self._chunks, self._size
        self._chunks, self._size = [], 0
        first, last = chunks[0], chunks[-1]
        if self._need == 3 or len(first) < 4:  # the header itself was split: rare
            return b"".join(chunks)
        after = len(last) - (size - self._need)
        payload = b"".join([memoryview(first)[4:], *chunks[1:-1], memoryview(last)[:after]])
        frames.append(_decode(first[3], payload))
        return last[after:]


def _decode(flag: int, payload: bytes) -> Frame:
    terminal = bool(flag & _TERMINAL)
    code = (flag >> _CODEC_SHIFT) & 0b11
    if code == 0b11:
        raise FrameError("invalid compression bits 11")
    if terminal:
        if len(payload) < 2:
            raise FrameError("terminal frame shorter than its 2-byte status")
        return Frame(payload, terminal=True)
    if code:
        try:
            payload = decompress(payload, Codec(code))
        except CompressionError as e:
            raise FrameError(str(e)) from e
    return Frame(payload, reconnect_advised=bool(flag & _RECONNECT))
