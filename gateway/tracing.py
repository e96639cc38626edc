"""OpenTelemetry traces (--otlp-endpoint): a server span per request, with a child span for
each metadata store call and each backend call it makes.

How this works:
- setup() builds a TracerProvider of our own (not the process-global one: embedding apps
  and tests keep theirs) exporting in batches over OTLP/HTTP, and sets the module's tracer.
  Without --otlp-endpoint it is never called: no middleware, no wrappers, no span object
  anywhere, and current_trace_id() is one comparison with None.
- tracing_middleware (gateway/app.py puts it right after the request id, so the audit and
  access logs run inside the span) opens the server span, continuing a W3C `traceparent`
  sent by the client. The span is named after the S3 operation once dispatch has resolved
  it (AUDIT_TARGET), and carries the bucket, the key, the status and the S3 error code.
  Never the query string (it may hold a presigned signature), nor a share link's token.
- traced(store_or_backend) wraps the MetaStore and the Backend: each coroutine method runs
  in a child span; a streaming method (get_blob, list_blobs) in a span that lasts until
  its stream ends. Calls outside a request (the collector, the lifecycle worker) make no
  span: a trace is a request's.
- Logs (gateway/logs.py) and audit records carry the trace id while a span is current.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

T = TypeVar("T")

SERVICE_NAME = "kloudvault"
_tracer: Tracer | None = None


def setup(endpoint: str | None, *, exporter: SpanExporter | None = None) -> TracerProvider:
    """Start tracing to the OTLP/HTTP `endpoint` (or to `exporter`: tests pass the SDK's
    InMemorySpanExporter, with a processor that exports each span as it ends)."""
    global _tracer
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _tracer = provider.get_tracer("kloudvault.gateway")
    return provider


def shutdown(provider: TracerProvider) -> None:
    """Flush what is buffered and stop tracing."""
    global _tracer
    _tracer = None
    provider.shutdown()


def enabled() -> bool:
    return _tracer is not None


def current_trace_id() -> str | None:
    """The trace id (32 hex digits) of the span this code runs in; None without one."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


# -- the server span ----------------------------------------------------------------------------
@web.middleware
async def tracing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    tracer = _tracer
    if tracer is None:
        return await handler(request)
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from gateway.audit import AUDIT_TARGET
    from gateway.logs import redact_target
    from gateway.middlewares.errors import ERROR_CODE
    from gateway.middlewares.request_id import request_id_of

    parent = TraceContextTextMapPropagator().extract(dict(request.headers))
    with tracer.start_as_current_span(
        request.method,
        context=parent,
        kind=trace.SpanKind.SERVER,
        attributes={
            "http.request.method": request.method,
            "url.path": redact_target(request.path),  # a share link's path is its token
            "kloudvault.request_id": request_id_of(request),
        },
    ) as span:
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        finally:
            target = request.get(AUDIT_TARGET)
            if target is not None:
                span.update_name(target.operation)
                span.set_attribute("s3.operation", target.operation)
                if target.bucket is not None:
                    span.set_attribute("s3.bucket", target.bucket)
                if target.key is not None:
                    span.set_attribute("s3.key", target.key)
            span.set_attribute("http.response.status_code", status)
            code = request.get(ERROR_CODE)
            if code is not None:
                span.set_attribute("s3.error_code", code)
            if status >= 500:
                span.set_status(trace.StatusCode.ERROR, code)


# -- child spans for the metadata store and the backend ----------------------------------------
class _Traced:
    """`inner`'s methods, each call in a span `<prefix>.<method>` (see the module docstring).
    Other attributes are `inner`'s own, so optional capabilities stay visible."""

    def __init__(self, inner: Any, prefix: str) -> None:
        self._inner = inner
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_"):
            return attr
        if inspect.iscoroutinefunction(attr):
            wrapped: Any = _call_span(f"{self._prefix}.{name}", attr)
        elif inspect.isasyncgenfunction(attr):
            wrapped = _stream_span(f"{self._prefix}.{name}", attr)
        else:
            return attr
        setattr(self, name, wrapped)  # once per method
        return wrapped


def _in_request() -> bool:
    from opentelemetry import trace

    return trace.get_current_span().is_recording()


def _call_span(
    name: str, method: Callable[..., Coroutine[Any, Any, T]]
) -> Callable[..., Coroutine[Any, Any, T]]:
    async def call(*args: Any, **kwargs: Any) -> T:
        tracer = _tracer
        if tracer is None or not _in_request():
            return await method(*args, **kwargs)
        with tracer.start_as_current_span(name):
            return await method(*args, **kwargs)

    return call


def _stream_span(name: str, method: Callable[..., AsyncIterator[T]]) -> Callable[..., Any]:
    async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[T]:
        tracer = _tracer
        if tracer is None or not _in_request():
            async for item in method(*args, **kwargs):
                yield item
            return
        # Not made current: the stream is consumed across awaits of other code.
        span = tracer.start_span(name)
        try:
            async for item in method(*args, **kwargs):
                yield item
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            span.end()

    return stream


def traced(inner: T, prefix: str) -> T:
    """`inner` (a MetaStore or a Backend) with its calls traced; as typed as `inner`."""
    proxy: Any = _Traced(inner, prefix)
    return proxy  # type: ignore[no-any-return]
