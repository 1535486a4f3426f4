"""Tracing of the ``s2_sdk`` client itself.

``S2Instrumentor().instrument()`` wraps the async client so that appends, reads,
sessions and control-plane calls produce client spans with messaging attributes
(``messaging.system = "s2"``, the stream as destination, batch sizes, the basin),
and appended records carry a W3C ``traceparent`` header. Consumers continue the
trace with :func:`extract_context`. It is an OpenTelemetry ``BaseInstrumentor``,
registered for ``opentelemetry-instrument``. Work on the ``s2_sdk`` background thread
(the blocking facade, the plugins' own delivery, this package's exporter) is not
traced, nor is anything inside OpenTelemetry's ``suppress_instrumentation``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import SpanKind
from s2_sdk import (
    S2,
    AppendInput,
    AppendSession,
    Producer,
    ReadSession,
    Record,
    S2Basin,
    S2Stream,
    SequencedRecord,
)
from s2_sdk.sync import on_background_thread

from s2_otel import zero_code

__all__ = ["S2Instrumentor", "extract_context", "with_trace_context"]

_TRACER_NAME = "s2_otel.instrumentation"
_ACCOUNT_OPS = (
    "create_basin", "ensure_basin", "list_basins", "delete_basin", "get_basin_config",
    "reconfigure_basin", "list_locations", "get_default_location", "set_default_location",
    "issue_access_token", "list_access_tokens", "revoke_access_token", "account_metrics",
    "basin_metrics", "stream_metrics",
)  # fmt: skip
_BASIN_OPS = (
    "create_stream", "ensure_stream", "list_streams", "delete_stream", "get_stream_config",
    "reconfigure_stream",
)  # fmt: skip


def _suppressed() -> bool:
    return on_background_thread() or not is_instrumentation_enabled()


def with_trace_context(records: Sequence[Record]) -> list[Record]:
    """Copies of ``records`` carrying the current context as a ``traceparent`` header."""
    carrier: dict[str, str] = {}
    inject(carrier)
    if not carrier:
        return list(records)
    extra = [(k.encode(), v.encode()) for k, v in carrier.items()]
    names = {name for name, _ in extra}
    return [
        Record(
            body=r.body,
            headers=[h for h in r.headers if h[0] not in names] + extra,
            timestamp=r.timestamp,
        )
        for r in records
    ]


def extract_context(record: SequencedRecord) -> otel_context.Context:
    """The trace context a producer injected into a record (to continue its trace)."""
    carrier = {
        name.decode(errors="replace"): value.decode(errors="replace")
        for name, value in record.headers
        if name
    }
    return extract(carrier)


def _stream_attrs(stream: S2Stream) -> dict[str, Any]:
    return {
        "messaging.system": "s2",
        "messaging.destination.name": stream.name,
        "s2.basin": stream.basin.name,
    }


class S2Instrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``s2_sdk`` client classes; ``uninstrument`` restores them.

    ``instrument(tracer_provider=...)`` starts producing spans (with the global tracer
    provider by default); ``is_instrumented_by_opentelemetry`` tells whether it is in
    effect. Like every ``BaseInstrumentor``, there is one instance per process.
    """

    _originals: list[tuple[type, str, Any]]

    def instrumentation_dependencies(self) -> Collection[str]:
        """The distribution this instruments: ``s2-core`` (``import s2_sdk``)."""
        return ("s2-core",)

    def _instrument(self, **kwargs: Any) -> None:
        zero_code.check()  # opentelemetry-instrument loads this; say if s2 cannot export
        self._originals = []
        tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=kwargs.get("tracer_provider"))
        self._patch(S2Stream, "append", _append(tracer))
        self._patch(S2Stream, "read", _read(tracer))
        self._patch(S2Stream, "check_tail", _simple(tracer, "check_tail", _stream_attrs))
        self._patch(AppendSession, "submit", _session_submit(tracer))
        self._patch(Producer, "submit", _producer_submit())
        self._patch(ReadSession, "__anext__", _read_session_next(tracer))
        for name in _ACCOUNT_OPS:
            self._patch(S2, name, _simple(tracer, name, lambda _: {"messaging.system": "s2"}))
        for name in _BASIN_OPS:
            self._patch(
                S2Basin,
                name,
                _simple(tracer, name, lambda b: {"messaging.system": "s2", "s2.basin": b.name}),
            )

    def _uninstrument(self, **kwargs: Any) -> None:
        for cls, name, original in reversed(self._originals):
            setattr(cls, name, original)
        self._originals.clear()

    def _patch(self, cls: type, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(cls, name)
        self._originals.append((cls, name, original))
        setattr(cls, name, functools.wraps(original)(make(original)))


def _simple(
    tracer: trace.Tracer, op: str, attrs: Callable[[Any], dict[str, Any]]
) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _suppressed():
                return await original(self, *args, **kwargs)
            with tracer.start_as_current_span(
                f"s2 {op}", kind=SpanKind.CLIENT, attributes=attrs(self)
            ):
                return await original(self, *args, **kwargs)

        return wrapper

    return make


def _append(tracer: trace.Tracer) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def wrapper(self: S2Stream, inp: AppendInput) -> Any:
            if _suppressed():
                return await original(self, inp)
            attrs = {
                **_stream_attrs(self),
                "messaging.operation.type": "send",
                "messaging.batch.message_count": len(inp.records),
            }
            with tracer.start_as_current_span(
                f"send {self.name}", kind=SpanKind.PRODUCER, attributes=attrs
            ) as span:
                traced = AppendInput(
                    with_trace_context(inp.records), inp.match_seq_num, inp.fencing_token
                )
                ack = await original(self, traced)
                span.set_attribute("s2.start_seq_num", ack.start.seq_num)
                return ack

        return wrapper

    return make


def _read(tracer: trace.Tracer) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def wrapper(self: S2Stream, **kwargs: Any) -> Any:
            if _suppressed():
                return await original(self, **kwargs)
            attrs = {**_stream_attrs(self), "messaging.operation.type": "receive"}
            with tracer.start_as_current_span(
                f"receive {self.name}", kind=SpanKind.CONSUMER, attributes=attrs
            ) as span:
                batch = await original(self, **kwargs)
                span.set_attribute("messaging.batch.message_count", len(batch.records))
                return batch

        return wrapper

    return make


def _session_submit(tracer: trace.Tracer) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def wrapper(self: AppendSession, inp: AppendInput) -> Any:
            if _suppressed():
                return await original(self, inp)
            stream = self.stream
            attrs = {
                **_stream_attrs(stream),
                "messaging.operation.type": "send",
                "messaging.batch.message_count": len(inp.records),
            }
            span = tracer.start_span(
                f"send {stream.name}", kind=SpanKind.PRODUCER, attributes=attrs
            )
            with trace.use_span(span, end_on_exit=False):
                traced = AppendInput(
                    with_trace_context(inp.records), inp.match_seq_num, inp.fencing_token
                )
                try:
                    ticket = await original(self, traced)
                except BaseException:
                    span.end()
                    raise
            ticket.add_done_callback(lambda _: span.end())
            return ticket

        return wrapper

    return make


def _producer_submit() -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def wrapper(self: Producer, record: Record) -> Any:
            if _suppressed():
                return await original(self, record)
            return await original(self, with_trace_context([record])[0])

        return wrapper

    return make


def _read_session_next(tracer: trace.Tracer) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        async def wrapper(self: ReadSession) -> Any:
            batch = await original(self)
            if not _suppressed():
                attrs = {
                    **_stream_attrs(self.stream),
                    "messaging.operation.type": "receive",
                    "messaging.batch.message_count": len(batch.records),
                }
                links = [
                    trace.Link(span_context)
                    for r in batch.records[:32]
                    if (
                        span_context := trace.get_current_span(
                            extract_context(r)
                        ).get_span_context()
                    ).is_valid
                ]
                tracer.start_span(
                    f"receive {self.stream.name}",
                    kind=SpanKind.CONSUMER,
                    attributes=attrs,
                    links=links,
                ).end()
            return batch

        return wrapper

    return make
