"""Tracing (gateway/tracing.py): a PUT and a GET on the real app make a server span each,
with the metadata and backend calls as its children, captured by the SDK's in-memory
exporter; the trace id reaches the audit record and the JSON log lines."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway import tracing
from gateway.app import APP_AUDIT
from gateway.logs import JsonFormatter
from tests.app.client import SignedClient, signed_client


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    captured = InMemorySpanExporter()
    provider = tracing.setup(None, exporter=captured)
    try:
        yield captured
    finally:
        tracing.shutdown(provider)  # later tests run untraced


@pytest.fixture
def traced_client(
    exporter: InMemorySpanExporter, tmp_path: Path, aio: asyncio.Runner
) -> Iterator[SignedClient]:
    manager = signed_client(
        tmp_path / "app", otlp_endpoint="http://unused", audit_log=str(tmp_path / "audit.log")
    )
    client = aio.run(manager.__aenter__())
    try:
        yield client
    finally:
        aio.run(manager.__aexit__(None, None, None))


def server_span(spans: tuple[ReadableSpan, ...], name: str, status: int = 200) -> ReadableSpan:
    (span,) = [
        s
        for s in spans
        if s.name == name
        and s.kind is SpanKind.SERVER
        and (s.attributes or {}).get("http.response.status_code") == status
    ]
    return span


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> set[str]:
    context = parent.get_span_context()
    assert context is not None
    return {
        s.name
        for s in spans
        if s.parent is not None
        and s.parent.span_id == context.span_id
        and s.context is not None
        and s.context.trace_id == context.trace_id
    }


def test_put_and_get_spans(
    traced_client: SignedClient,
    exporter: InMemorySpanExporter,
    aio: asyncio.Runner,
    tmp_path: Path,
) -> None:
    client = traced_client

    async def run() -> None:
        assert (await client.request("PUT", "/traced")).status == 200
        exporter.clear()
        assert (await client.request("PUT", "/traced/k", body=b"hello")).status == 200
        get = await client.request("GET", "/traced/k")
        assert (get.status, get.body) == (200, b"hello")
        missing = await client.request("GET", "/traced/nope")
        assert missing.status == 404
        await client.client.app[APP_AUDIT].flush()

    aio.run(run())
    spans = exporter.get_finished_spans()

    put = server_span(spans, "PutObject")
    assert put.parent is None
    assert put.attributes is not None
    assert dict(put.attributes) | {"kloudvault.request_id": "-"} == {
        "http.request.method": "PUT",
        "url.path": "/traced/k",
        "kloudvault.request_id": "-",
        "s3.operation": "PutObject",
        "s3.bucket": "traced",
        "s3.key": "k",
        "http.response.status_code": 200,
    }
    # A small object is stored inline: one metadata commit, no blob, no pending row.
    assert "metadata.put_object" in children(spans, put)
    assert not {"metadata.add_pending_blob", "backend.put_blob"} & children(spans, put)

    get = server_span(spans, "GetObject")
    assert get.attributes is not None and get.attributes["http.response.status_code"] == 200
    assert "metadata.get_object" in children(spans, get)
    assert "backend.get_blob" not in children(spans, get)
    assert put.context is not None and get.context is not None
    assert put.context.trace_id != get.context.trace_id  # a trace per request

    nope = server_span(spans, "GetObject", 404)
    assert nope.attributes is not None and nope.attributes["s3.error_code"] == "NoSuchKey"

    # The audit record names the trace of its request.
    records = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    by_operation = {(r["operation"], r["status"]): r for r in records}
    assert by_operation[("PutObject", 200)]["trace_id"] == format(put.context.trace_id, "032x")


def test_trace_id_in_json_logs(exporter: InMemorySpanExporter) -> None:
    tracer = tracing._tracer
    assert tracer is not None
    record = logging.LogRecord("kloudvault", logging.INFO, __file__, 1, "inside", None, None)
    with tracer.start_as_current_span("request") as span:
        inside: dict[str, Any] = json.loads(JsonFormatter().format(record))
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert "trace_id" not in json.loads(JsonFormatter().format(record))


def test_no_tracing_no_spans(app_client: SignedClient, aio: asyncio.Runner) -> None:
    """Without --otlp-endpoint nothing is wrapped and no span exists."""
    assert not tracing.enabled()
    assert type(app_client.services.meta).__name__ != "_Traced"
    assert type(app_client.services.backend).__name__ == "MeteredBackend"
    assert tracing.current_trace_id() is None
