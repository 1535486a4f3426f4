"""Per-connection settings of an ``h2`` connection, for the client and for s2-local alike:
quiet frame buffers, and HPACK without a dynamic table (encoding) or with a fast path for
blocks that use none (decoding)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import h2.connection
from h2.frame_buffer import FrameBuffer
from hpack import Decoder, HeaderTuple, NeverIndexedHeaderTuple
from hpack.exceptions import HPACKError
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable
from hyperframe.frame import FRAMES, Frame

__all__ = [
    "H2_MAX_FRAME_SIZE",
    "PlainBlockDecoder",
    "StatelessEncoder",
    "quiet_frames",
    "stateless_headers",
]

H2_MAX_FRAME_SIZE = 256 * 1024
"""The largest HTTP/2 frame to accept (advertised as SETTINGS_MAX_FRAME_SIZE): a 1 MiB
read batch travels in 4 frames instead of 64."""


def _quiet_class(cls: type[Frame]) -> type[Frame]:
    def __repr__(self: Frame) -> str:
        return f"{type(self).__name__}(stream_id={self.stream_id})"

    return type(cls.__name__, (cls,), {"__repr__": __repr__, "__module__": __name__})


_QUIET: dict[type[Frame], type[Frame]] = {cls: _quiet_class(cls) for cls in FRAMES.values()}


class _QuietFrameBuffer(FrameBuffer):
    """Yields frames whose ``repr`` does not hex-encode their payload."""

    def __next__(self) -> Frame:
        frame = super().__next__()
        quiet = _QUIET.get(frame.__class__)
        if quiet is not None:
            frame.__class__ = quiet
        return frame


def quiet_frames(conn: h2.connection.H2Connection) -> None:
    """Spare ``conn`` the ``repr`` h2 builds of every frame it receives for its trace log
    (a hex dump of each DATA payload, built even when nothing logs it: a tenth of a read's
    CPU). Call it on a new connection, before it receives anything; nothing global changes.
    """
    buffer = _QuietFrameBuffer(server=not conn.config.client_side)
    buffer.max_frame_size = conn.incoming_buffer.max_frame_size
    conn.incoming_buffer = buffer
    table: dict[type[Frame], Any] = conn._frame_dispatch_table
    for cls, quiet in _QUIET.items():
        if cls in table:
            table[quiet] = table[cls]


def _integer(value: int, prefix_bits: int, first: int) -> bytes:
    """An HPACK integer (RFC 7541, 5.1) whose first byte carries ``first``'s flag bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _literal(data: bytes) -> bytes:
    """A string literal, not Huffman-coded (RFC 7541, 5.2)."""
    return _integer(len(data), 7, 0) + data


_STATIC: dict[bytes, tuple[int, dict[bytes, int]]] = HeaderTable.STATIC_TABLE_MAPPING
_TABLE_SIZE_ZERO = b"\x20"
"""A dynamic table size update to 0 (RFC 7541, 6.3)."""
_CACHED_FIELDS = 1024


class StatelessEncoder:
    """An HPACK encoder that keeps no dynamic table, so that a field's encoding depends on
    the field alone and is computed once.

    Each field is a static-table reference, or a literal without indexing (never indexed
    for sensitive fields) with the name from the static table where it is there; values
    go as they are, not Huffman-coded (a peer decodes them with a copy). hpack's encoder
    searched its dynamic table linearly for every field of every request, Huffman-coded
    every new value, and made the peer decode them: together about a sixth of a unary
    request's CPU on each side. Every header block starts by setting the peer's view of
    our table to size 0 until the peer has seen one, and again after it changes
    ``SETTINGS_HEADER_TABLE_SIZE``.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[bytes, bytes, bool], bytes] = {}
        self._announce = True

    @property
    def header_table_size(self) -> int:
        """Always 0: nothing is ever indexed."""
        return 0

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._announce = True  # the peer's limit changed: state ours again

    def encode(self, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
        """The header block of ``headers`` (byte pairs, as h2 hands them over)."""
        cache = self._cache
        parts = []
        if self._announce:
            parts.append(_TABLE_SIZE_ZERO)
            self._announce = False
        for header in headers:
            sensitive = isinstance(header, HeaderTuple) and not header.indexable
            key = (header[0], header[1], sensitive)
            field = cache.get(key)
            if field is None:
                field = self._field(*key)
                if len(cache) >= _CACHED_FIELDS:
                    cache.clear()
                cache[key] = field
            parts.append(field)
        return b"".join(parts)

    @staticmethod
    def _field(name: bytes, value: bytes, sensitive: bool) -> bytes:
        static = _STATIC.get(name)
        if static is not None and not sensitive:
            index = static[1].get(value)
            if index is not None:
                return _integer(index, 7, 0x80)
        first = 0x10 if sensitive else 0x00
        if static is not None:
            return _integer(static[0], 4, first) + _literal(value)
        return bytes((first,)) + _literal(name) + _literal(value)


class _NotPlain(Exception):
    """The block needs the dynamic table (or is malformed): hpack's own path decodes it."""


_STATIC_ENTRIES: tuple[tuple[bytes, bytes], ...] = HeaderTable.STATIC_TABLE


def _hpack_int(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    """An HPACK integer with a ``bits``-bit prefix at ``pos`` (RFC 7541, 5.1); the position
    after it."""
    mask = (1 << bits) - 1
    value = data[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while shift < 28:
        byte = data[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise _NotPlain


def _hpack_string_end(data: bytes, pos: int) -> int:
    """The position after the string literal at ``pos``."""
    length, pos = _hpack_int(data, pos, 7)
    return pos + length


def _hpack_string(data: bytes, pos: int) -> tuple[bytes, int]:
    huffman = data[pos] & 0x80
    length, pos = _hpack_int(data, pos, 7)
    end = pos + length
    if end > len(data):
        raise _NotPlain
    raw = data[pos:end]
    return (decode_huffman(raw) if huffman else raw), end


def _static(index: int) -> tuple[bytes, bytes]:
    if not 0 < index <= len(_STATIC_ENTRIES):
        raise _NotPlain  # an entry of the dynamic table
    return _STATIC_ENTRIES[index - 1]


_INDEXED: dict[int, tuple[HeaderTuple, int]] = {
    0x80 | i: (HeaderTuple(n, v), len(n) + len(v) + 32)
    for i, (n, v) in enumerate(_STATIC_ENTRIES, 1)
}
"""The one-byte static-table references, decoded (with their size in a header list)."""
_LITERALS: dict[bytes, tuple[HeaderTuple, int]] = {}
"""Literal fields decoded lately, by their encoding (a peer's StatelessEncoder writes the
same bytes for the same field, and most fields repeat from request to request)."""
_MAX_LITERALS = 1024


def _literal_field(data: bytes, pos: int) -> tuple[HeaderTuple, int]:
    """The literal field at ``pos`` (without indexing, or never indexed) and its size."""
    index, at = _hpack_int(data, pos, 4)
    if index:
        name = _static(index)[0]
    else:
        name, at = _hpack_string(data, at)
    value, _ = _hpack_string(data, at)
    kind = NeverIndexedHeaderTuple if data[pos] & 0x10 else HeaderTuple
    return kind(name, value), len(name) + len(value) + 32


def _decode_plain(data: bytes, limit: int) -> list[HeaderTuple]:
    """The fields of a block made only of static-table references and literals that leave
    the dynamic table alone.

    Raises:
        _NotPlain: anything else (the dynamic table, a size update, a list over ``limit``,
            a malformed block).
    """
    headers: list[HeaderTuple] = []
    size = 0
    pos, end = 0, len(data)
    literals = _LITERALS
    while pos < end:
        first = data[pos]
        if first & 0x80:  # indexed: the static table's 61 entries take one byte
            found = _INDEXED.get(first)
            if found is None:
                raise _NotPlain  # index 0, or an entry of the dynamic table
            pos += 1
        elif first & 0xE0 == 0:  # a literal without indexing, or never indexed
            # where the field ends, short lengths (one byte) read inline
            at = pos + 1
            if not first & 0x0F:  # its name is a literal too
                n = data[at] & 0x7F
                at = _hpack_string_end(data, at) if n == 0x7F else at + 1 + n
            elif first & 0x0F == 0x0F:
                at = _hpack_int(data, pos, 4)[1]
            n = data[at] & 0x7F
            field_end = _hpack_string_end(data, at) if n == 0x7F else at + 1 + n
            if field_end > end:
                raise _NotPlain
            raw = data[pos:field_end]
            found = literals.get(raw)
            if found is None:
                found = _literal_field(data, pos)
                if len(literals) >= _MAX_LITERALS:
                    literals.clear()
                literals[raw] = found
            pos = field_end
        else:  # a literal added to the table, or a table size update
            raise _NotPlain
        header, field_size = found
        size += field_size
        if size > limit:
            raise _NotPlain
        headers.append(header)
    return headers


class PlainBlockDecoder(Decoder):
    """hpack's decoder, with a fast path for header blocks that leave the dynamic table
    alone (what :class:`StatelessEncoder` writes, on both ends of our connections): they
    decode to the same fields in 0.4 of hpack's time (7 µs against 19 for a request's 11
    fields), less for fields seen lately (decoded once per encoding). Any other block, and
    any malformed one, goes through hpack's own decoding, errors included."""

    def decode(self, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        if raw and self.header_table_size <= self.max_allowed_table_size:
            try:
                return _decode_plain(data, self.max_header_list_size)
            except (_NotPlain, IndexError, HPACKError):
                pass
        return list(super().decode(data, raw))


def stateless_headers(conn: h2.connection.H2Connection) -> None:
    """Have ``conn`` encode its header blocks with a :class:`StatelessEncoder`, and decode
    those it receives with a :class:`PlainBlockDecoder` (a new connection, before it
    receives anything)."""
    conn.encoder = StatelessEncoder()  # type: ignore[assignment]
    decoder = PlainBlockDecoder()
    decoder.max_header_list_size = conn.decoder.max_header_list_size
    decoder.max_allowed_table_size = conn.decoder.max_allowed_table_size
    conn.decoder = decoder
