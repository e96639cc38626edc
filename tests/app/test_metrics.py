"""The metrics middleware's counting (gateway/middlewares/metrics.py) and where /metrics is
served: the S3 port to the bearer of --metrics-token only, --metrics-listen's app.

Counts are read from this process's registry as deltas around a workload: other tests in
the session count into the same registry.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics.exposition import metrics_app
from tests.app.client import SignedClient, signed_client

TOKEN = "metrics-token-for-tests"

Sample = tuple[str, tuple[tuple[str, str], ...]]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Deltas:
    """Sample values now, to compare with later."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.before = {(n, tuple(sorted(ls.items()))): value(n, **ls) for n, ls in samples}

    def __call__(self, name: str, **labels: str) -> float:
        return value(name, **labels) - self.before[(name, tuple(sorted(labels.items())))]


def parse(text: str) -> dict[Sample, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def tmp_app(tmp_path: Path) -> Path:
    return tmp_path / "app"


def test_requests_counted_by_operation_status_and_code(tmp_app: Path, aio: asyncio.Runner) -> None:
    bodies = [b"x" * 10, b"y" * 2000, b"z" * 70_000]
    watched = [
        ("kloudvault_requests_total", {"operation": "PutObject", "status": "200"}),
        ("kloudvault_requests_total", {"operation": "GetObject", "status": "200"}),
        ("kloudvault_requests_total", {"operation": "GetObject", "status": "404"}),
        ("kloudvault_requests_total", {"operation": "HeadObject", "status": "200"}),
        ("kloudvault_errors_total", {"operation": "GetObject", "code": "NoSuchKey"}),
        ("kloudvault_errors_total", {"operation": "GetBucketAcl", "code": "NoSuchBucket"}),
        ("kloudvault_received_bytes_total", {"operation": "PutObject"}),
        ("kloudvault_sent_bytes_total", {"operation": "GetObject"}),
        ("kloudvault_sent_bytes_total", {"operation": "HeadObject"}),
        ("kloudvault_request_duration_seconds_count", {"operation": "GetObject"}),
        ("kloudvault_request_first_byte_seconds_count", {"operation": "GetObject"}),
        ("kloudvault_requests_in_flight", {}),
        ("kloudvault_backend_requests_total", {"operation": "put_blob"}),
        ("kloudvault_backend_requests_total", {"operation": "get_blob"}),
        ("kloudvault_metadata_duration_seconds_count", {"method": "put_object"}),
    ]

    async def body() -> None:
        async with signed_client(tmp_app) as client:
            assert (await client.request("PUT", "/mbucket")).status == 200
            delta = Deltas(*watched)
            for i, data in enumerate(bodies):
                assert (await client.request("PUT", f"/mbucket/k{i}", body=data)).status == 200
            gets = [await client.request("GET", f"/mbucket/k{i}") for i in range(2)]
            missing = await client.request("GET", "/mbucket/nope")
            head = await client.request("HEAD", "/mbucket/k2")
            acl = await client.request("GET", "/no-such-bucket-here?acl")
            assert [r.status for r in gets] == [200, 200]
            assert (missing.status, missing.error_code) == (404, "NoSuchKey")
            assert (head.status, acl.status) == (200, 404)

            assert delta("kloudvault_requests_total", operation="PutObject", status="200") == 3
            assert delta("kloudvault_requests_total", operation="GetObject", status="200") == 2
            assert delta("kloudvault_requests_total", operation="GetObject", status="404") == 1
            assert delta("kloudvault_requests_total", operation="HeadObject", status="200") == 1
            assert delta("kloudvault_errors_total", operation="GetObject", code="NoSuchKey") == 1
            assert (
                delta("kloudvault_errors_total", operation="GetBucketAcl", code="NoSuchBucket") == 1
            )
            assert delta("kloudvault_received_bytes_total", operation="PutObject") == sum(
                map(len, bodies)
            )
            # The two objects and the 404's error document; a HEAD sends no body.
            sent = len(bodies[0]) + len(bodies[1]) + len(missing.body)
            assert delta("kloudvault_sent_bytes_total", operation="GetObject") == sent
            assert delta("kloudvault_sent_bytes_total", operation="HeadObject") == 0
            for name in (
                "kloudvault_request_duration_seconds_count",
                "kloudvault_request_first_byte_seconds_count",
            ):
                assert delta(name, operation="GetObject") == 3
            assert value("kloudvault_requests_in_flight") == 0
            # Only the body over --inline-threshold (64 KiB) is a blob; k0 and k1 are read
            # from their version rows.
            assert delta("kloudvault_backend_requests_total", operation="put_blob") == 1
            assert delta("kloudvault_backend_requests_total", operation="get_blob") == 0
            assert delta("kloudvault_metadata_duration_seconds_count", method="put_object") == 3

    aio.run(body())


async def _workload(client: SignedClient) -> None:
    assert (await client.request("PUT", "/usage-bucket")).status == 200
    for i, size in enumerate((5, 7, 11)):
        put = await client.request("PUT", f"/usage-bucket/o{i}", body=b"u" * size)
        assert put.status == 200


def test_scrape_on_s3_port_with_bearer_token(tmp_app: Path, aio: asyncio.Runner) -> None:
    async def body() -> None:
        async with signed_client(tmp_app, metrics_token=TOKEN) as client:
            await _workload(client)
            before = value("kloudvault_requests_total", operation="ListObjects", status="200")
            reply = await client.request(
                "GET", "/metrics", sign=False, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith("text/plain")
            samples = parse(reply.body.decode())
            bucket = (("bucket", "usage-bucket"),)
            assert samples[("kloudvault_bucket_objects", bucket)] == 3
            assert samples[("kloudvault_bucket_bytes", bucket)] == 5 + 7 + 11
            assert samples[("kloudvault_backend_up", (("backend", "memory"),))] == 1
            assert samples[("kloudvault_collector_pending_blobs", (("list", "pending"),))] == 0
            assert (
                samples[
                    (
                        "kloudvault_requests_total",
                        (("operation", "PutObject"), ("status", "200")),
                    )
                ]
                >= 3
            )
            # A scrape is no S3 request: nothing counted for it.
            after = value("kloudvault_requests_total", operation="ListObjects", status="200")
            assert after == before

    aio.run(body())


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}x", "Bearer ", "bearer wrong"])
def test_scrape_with_wrong_token_is_refused(
    tmp_app: Path, aio: asyncio.Runner, authorization: str
) -> None:
    async def body() -> None:
        async with signed_client(tmp_app, metrics_token=TOKEN) as client:
            reply = await client.request(
                "GET", "/metrics", sign=False, headers={"Authorization": authorization}
            )
            assert reply.status == 401
            assert reply.headers["WWW-Authenticate"].startswith("Bearer ")
            assert b"<Error>" not in reply.body and b"kloudvault_" not in reply.body

    aio.run(body())


def test_metrics_path_is_s3_without_bearer_or_token(tmp_app: Path, aio: asyncio.Runner) -> None:
    """Without a bearer token, or with no token configured, /metrics is the S3 path of a
    bucket named "metrics": the S3 API answers, never the metrics."""

    async def body() -> None:
        async with signed_client(tmp_app, metrics_token=TOKEN) as client:
            signed = await client.request("GET", "/metrics")
            assert (signed.status, signed.error_code) == (404, "NoSuchBucket")
            anonymous = await client.request("GET", "/metrics", sign=False)
            assert anonymous.status == 403 and b"<Error>" in anonymous.body
        async with signed_client(tmp_app.with_name("plain")) as client:
            reply = await client.request(
                "GET", "/metrics", sign=False, headers={"Authorization": "Bearer anything"}
            )
            assert reply.status in (400, 403) and b"<Error>" in reply.body
            assert b"kloudvault_" not in reply.body

    aio.run(body())


@pytest.mark.parametrize("token", [None, TOKEN])
def test_metrics_listen_app(tmp_app: Path, aio: asyncio.Runner, token: str | None) -> None:
    async def body() -> None:
        async with signed_client(tmp_app, metrics_token=token) as client:
            await _workload(client)
            app = metrics_app(client.services)
            async with TestClient(TestServer(app)) as scraper:
                headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
                async with scraper.get("/metrics", headers=headers) as response:
                    assert response.status == 200
                    samples = parse(await response.text())
                assert samples[("kloudvault_bucket_objects", (("bucket", "usage-bucket"),))] == 3
                if token:
                    async with scraper.get("/metrics") as response:
                        assert response.status == 401
                async with scraper.get("/anything-else") as response:
                    assert response.status == 404

    aio.run(body())


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("GET", "/s/abcdefghijklmnopqrstuv", "ShareLinkDownload"),
        ("HEAD", "/s/abcdefghijklmnopqrstuv", "ShareLinkDownload"),
        ("POST", "/_kv/shares", "ShareLinkApi"),
        ("DELETE", "/_kv/shares/sl-0000000000000000", "ShareLinkApi"),
        ("GET", "/bucket/s/key", "GetObject"),
    ],
)
def test_share_link_requests_are_not_labelled_as_s3_operations(
    method: str, path: str, operation: str
) -> None:
    from aiohttp.test_utils import make_mocked_request

    from gateway.middlewares.metrics import operation_of

    request = make_mocked_request(method, path, headers={"Host": "127.0.0.1:9000"})
    assert operation_of(request, None) == operation


def test_label_is_the_operation_dispatch_resolved(tmp_app: Path, aio: asyncio.Runner) -> None:
    """The label comes from dispatch's own resolution; requests dispatch could not resolve
    (a method no route has) are resolved once more by the middleware: Unresolved."""
    watched = [
        ("kloudvault_requests_total", {"operation": "ListObjectsV2", "status": "200"}),
        ("kloudvault_requests_total", {"operation": "DeleteObject", "status": "204"}),
        ("kloudvault_requests_total", {"operation": "Unresolved", "status": "405"}),
        ("kloudvault_request_first_byte_seconds_count", {"operation": "Unresolved"}),
    ]

    async def body() -> None:
        async with signed_client(tmp_app) as client:
            assert (await client.request("PUT", "/lbucket")).status == 200
            delta = Deltas(*watched)
            assert (await client.request("GET", "/lbucket?list-type=2")).status == 200
            assert (await client.request("DELETE", "/lbucket/gone")).status == 204
            assert (await client.request("PATCH", "/lbucket/k")).status == 405
            assert delta("kloudvault_requests_total", operation="ListObjectsV2", status="200") == 1
            assert delta("kloudvault_requests_total", operation="DeleteObject", status="204") == 1
            assert delta("kloudvault_requests_total", operation="Unresolved", status="405") == 1
            assert delta("kloudvault_request_first_byte_seconds_count", operation="Unresolved") == 1

    aio.run(body())
