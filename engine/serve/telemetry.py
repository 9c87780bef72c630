"""Optional OpenTelemetry traces for ``engine serve`` (``--otel``; the ``otel`` extra).

Off by default. With ``--otel`` the server sets up the OpenTelemetry SDK:
spans go to an OTLP/HTTP collector configured the standard way
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, ...), every outgoing
httpx request (Fluent, REST APIs, tokens) becomes a span through
opentelemetry-instrumentation-httpx (threads carry the trace they were started
in: opentelemetry-instrumentation-threading), and the engine adds its own:

- ``engine.webhook`` for each webhook request (route, status code, outcome);
- ``engine.run`` for each run of a served spec (connector, trigger, run id,
  status, records read, written and rejected), the parent of the HTTP calls
  made on its thread.

Without the SDK installed, or without ``--otel``, :func:`span` costs a
context manager that does nothing. Secrets never become span attributes:
attributes are names and counts the engine chose, not request data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from engine.errors import ConfigError

_enabled = False


def setup(exporter: Any = None) -> None:
    """Send spans from now on: to ``exporter`` (tests: an in-memory one), else to OTLP over HTTP.

    A process that already has an SDK tracer provider (set up by an embedding
    application or ``opentelemetry-instrument``) keeps it; the exporter is
    added to it.

    Raises:
        ConfigError: the ``otel`` extra is not installed.
    """
    global _enabled
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        raise ConfigError("--otel needs the OpenTelemetry SDK", hint="pip install 'engine[otel]'") from None
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": "engine"}))
        trace.set_tracer_provider(provider)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _instrument_httpx()
    _enabled = True


def _instrument_httpx() -> None:
    """Spans for every httpx request the process makes (the engine's one HTTP library).

    Threads and thread pools started inside a span carry its context, so the
    requests targets send from their pools belong to the run's trace.
    """
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    for instrumentor in (HTTPXClientInstrumentor(), ThreadingInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span named ``name`` around the block when tracing is on; the span (or None) is yielded.

    Attributes whose value is None are left out; more can be set on the
    yielded span with :func:`annotate`.
    """
    if not _enabled:
        yield None
        return
    from opentelemetry import trace

    tracer = trace.get_tracer("engine")
    attrs = {k: v for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, attributes=attrs) as current:
        yield current


def annotate(current: Any, **attributes: Any) -> None:
    """Set attributes on a span from :func:`span` (nothing when tracing is off)."""
    if current is None:
        return
    for key, value in attributes.items():
        if value is not None:
            current.set_attribute(key, value)
