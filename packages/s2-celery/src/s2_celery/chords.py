"""Chords on S2: each chord's parts counted in a counter stream, exactly once.

A chord's counter stream holds its size (``expect`` records, written before any part is
sent and raised by ``add_to_chord``) and one ``part`` record per part that returned. The
part whose count reaches the size sends the chord's body; a retried or repeated part
counts 0, so a chord neither fires early nor twice. :class:`ChordCounting` is the part
of :class:`~s2_celery.backend.S2Backend` that does this, on the stream helpers the backend
defines; :class:`ChordParts` is what a process has read of counter streams.
"""

from __future__ import annotations

import bisect
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery import states
from celery.backends.base import KeyValueStoreBackend
from celery.canvas import maybe_signature
from celery.exceptions import ChordError
from celery.result import GroupResult, allow_join_result, result_from_tuple
from celery.utils.log import get_logger
from s2_sdk import AppendInput, ReadLimit, Record, SeqNum, StreamConfig

if TYPE_CHECKING:
    from s2_sdk.sync import S2

__all__ = ["ChordCounting", "ChordParts"]

logger = get_logger(__name__)

_MAX_CHORDS = 256


class ChordParts:
    """What this process has read of chord counter streams, so that counting a part reads
    only the records appended since the last count (the most recent ``_MAX_CHORDS``)."""

    class Seen:
        """The distinct parts before ``position`` in one counter stream: each part's
        first sequence number, and those in order."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.position = 0
            self.first: dict[bytes, int] = {}
            self.firsts: list[int] = []
            self.sizes: list[tuple[int, int]] = []
            """(sequence number, the largest size written up to it), as sizes are read."""

        def add(self, part: bytes, seq_num: int) -> None:
            """A part appended at ``seq_num`` (parts are added in stream order)."""
            if part not in self.first:
                self.first[part] = seq_num
                self.firsts.append(seq_num)
            self.position = seq_num + 1

        def expect(self, size: int, seq_num: int) -> None:
            """The chord's size, written at ``seq_num`` (sizes only grow: the largest holds)."""
            largest = max(size, self.sizes[-1][1]) if self.sizes else size
            self.sizes.append((seq_num, largest))
            self.position = seq_num + 1

        def size_at(self, seq_num: int) -> int | None:
            """The chord's size as written before ``seq_num`` (None if none was)."""
            i = bisect.bisect_left(self.sizes, (seq_num,))
            return self.sizes[i - 1][1] if i else None

        def count_at(self, part: bytes, seq_num: int) -> int:
            """The distinct parts up to ``part``, appended at ``seq_num``; 0 if it was
            counted before."""
            if self.first.get(part, seq_num) < seq_num:
                return 0
            return bisect.bisect_left(self.firsts, seq_num) + 1

    def __init__(self) -> None:
        self._chords: OrderedDict[str, ChordParts.Seen] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> ChordParts.Seen:
        with self._lock:
            seen = self._chords.get(name)
            if seen is None:
                seen = self._chords[name] = ChordParts.Seen()
                if len(self._chords) > _MAX_CHORDS:
                    self._chords.popitem(last=False)
            else:
                self._chords.move_to_end(name)
            return seen


class ChordCounting(KeyValueStoreBackend):  # type: ignore[misc]
    """Counting chord parts in counter streams (a base of :class:`~s2_celery.backend.S2Backend`,
    which defines the stream helpers declared below)."""

    if TYPE_CHECKING:
        basin: str
        _chord_parts: ChordParts

        @property
        def client(self) -> S2: ...

        @property
        def _usual_config(self) -> StreamConfig: ...

        @property
        def _creation(self) -> Any: ...

        def _name(self, key: bytes | str) -> str: ...

        def _ensure(self, name: str, config: StreamConfig | None = None) -> bool: ...

        _compare_and_append: Callable[..., bool]

    def _save_chord(self, header_result_args: Any, body: Any, **kwargs: Any) -> None:
        """Save a chord's group, then its size in its counter stream, before any part is
        sent (Celery's ``apply_chord`` for backends that count parts)."""
        self.ensure_chords_allowed()
        group = self.app.GroupResult(*header_result_args)
        group.save(backend=self)
        name = self._name(self.get_key_for_chord(group.id))
        self._counter_append(name, b"expect", str(len(group.results)).encode())

    def on_chord_part_return(self, request: Any, state: str, result: Any, **kwargs: Any) -> None:
        """Count this part of a chord; the part that completes it joins the group's
        results and sends the chord's body (natively: no ``chord_unlock`` polling).

        A part costs one request (its count appended) besides its result, and never reads
        the group: the chord's size is in its counter stream too, written before any part
        was sent and raised by ``add_to_chord`` before the part that adds is counted, so
        the count reaches the size exactly once, with the last part. Only parts that may
        be that one read the counts (see :meth:`_count_part`).
        """
        gid = getattr(request, "group", None)
        if not gid:
            return
        part = (getattr(request, "id", None) or uuid.uuid4().hex).encode()
        key = self.get_key_for_chord(gid)
        count, size = self._count_part(key, part, exact=False)
        if count is None:
            return  # too early in the stream to complete the chord
        if count == 0:
            return  # counted before: a retried or repeated delivery
        self._cache.pop(gid, None)  # add_to_chord may have extended it
        group = None
        if size is None:  # saved by an s2-celery that wrote no size
            group = GroupResult.restore(gid, backend=self)
            size = len(group) if group is not None else None
        if size is None or count < size:
            return
        if count > size:
            logger.warning("chord %s: part %s counted past the size %d", gid, part, size)
            return
        self._complete_chord(gid, key, request, group)

    def _complete_chord(self, gid: str, key: str, request: Any, group: Any) -> None:
        """Join a complete chord's results and send its body with them."""
        callback = maybe_signature(request.chord, app=self.app)
        group = group or GroupResult.restore(gid, backend=self)
        if group is None:
            self.chord_error_from_stack(callback, ChordError(f"group {gid} no longer exists"))
            return
        try:
            with allow_join_result():
                values = group.join_native(
                    timeout=self.app.conf.result_chord_join_timeout, propagate=True
                )
        except Exception as e:
            failed = next((r.id for r in group.results if r.failed()), None)
            reason = f"dependency {failed} raised {e!r}" if failed else repr(e)
            self.chord_error_from_stack(callback, ChordError(reason))
        else:
            try:
                callback.delay(values)
            except Exception as e:
                self.chord_error_from_stack(callback, ChordError(f"callback error: {e!r}"))
        finally:
            group.delete(backend=self)
            self.delete(key)

    def incr(self, key: bytes | str) -> int:
        """Count one more part of a chord counter (see :meth:`_count_part`)."""
        return int(self._count_part(key, uuid.uuid4().hex.encode())[0] or 0)

    def _count_part(
        self, key: bytes | str, part: bytes, *, exact: bool = True
    ) -> tuple[int | None, int | None]:
        """Append ``part`` to a chord counter: (the distinct parts up to and including it,
        the chord's size then, None if no size was written).

        A retried or duplicated append of a part already counted counts 0, so a chord
        can neither fire early nor fire twice. Each process reads a counter stream once,
        from where it last left off: an n-part chord costs O(n) bytes read per process,
        not O(n²). Unless ``exact``, a part appended too early to complete the chord is
        not counted (None): a size is always the stream's first record, so no more parts
        than the part's sequence number precede it, and while that is below the size
        this process knows (sizes only grow), the count cannot reach the size.
        """
        name = self._name(key)
        seq_num = self._counter_append(name, b"part", part)
        seen = self._chord_parts[name]
        known = seen.size_at(seen.position)
        if not exact and known is not None and seq_num < known:
            return None, known
        stream = self.client[self.basin][name]
        with seen.lock:
            while seen.position < seq_num:
                batch = stream.read(
                    start=SeqNum(seen.position), limit=ReadLimit(count=seq_num - seen.position)
                )
                for r in batch.records:
                    if r.headers[:1] == [(b"part", r.body)]:
                        seen.add(r.body, r.seq_num)
                    elif r.headers[:1] == [(b"expect", r.body)]:
                        seen.expect(int(r.body), r.seq_num)
                seen.position = batch.records[-1].seq_num + 1 if batch.records else seq_num
            if seen.position == seq_num:
                seen.add(part, seq_num)  # the next count need not read it
            return seen.count_at(part, seq_num), seen.size_at(seq_num)

    def _counter_append(self, name: str, kind: bytes, value: bytes) -> int:
        """Append a ``kind: value`` record to a chord counter stream; its seq num."""
        config = None
        if self._creation.on_append:
            config = self._usual_config
        else:
            self._ensure(name)
        inp = AppendInput([Record(body=value, headers=[(kind, value)])], stream_config=config)
        return self.client[self.basin][name].append(inp).start.seq_num

    def add_to_chord(self, group_id: str, result: Any) -> None:
        """Make ``result``'s task one more part of the running chord ``group_id``.

        Called by ``Task.add_to_chord`` from a part still running, so the chord cannot
        have fired yet. The task joins the saved group with a compare-and-swap on its
        last record (concurrent additions are all kept); the chord then waits for it
        and its body receives its result too.
        """

        size = 0

        def extended(last: Any) -> Record:
            nonlocal size
            if last is None:
                raise ValueError(f"chord {group_id} has no saved group to add to")
            group = result_from_tuple(self.decode(last.body)["result"], self.app)
            if result.id not in {r.id for r in group.results}:
                group.results.append(result)
            size = len(group.results)
            encoded = self.encode({"result": group.as_tuple()})
            body = encoded.encode() if isinstance(encoded, str) else encoded
            return Record(body=body, headers=[(b"state", states.SUCCESS.encode())])

        self._compare_and_append(self._name(self.get_key_for_group(group_id)), extended)
        self._cache.pop(group_id, None)
        counter = self._name(self.get_key_for_chord(group_id))
        self._counter_append(counter, b"expect", str(size).encode())

    def set_chord_size(self, group_id: str, chord_size: int) -> None:
        """Record the chord's size in its counter stream, for inspection.

        The chord completes when the count reaches the size of its saved group (which
        ``add_to_chord`` extends), so nothing depends on this record; counting skips it.
        """
        name = self._name(self.get_key_for_chord(group_id))
        self._counter_append(name, b"size", str(chord_size).encode())
