"""/metrics of a real `serve --workers 2`: counts added up across the worker processes.

A known workload (puts, gets, gets of missing keys) on fresh connections, which the
kernel spreads over both workers (SO_REUSEPORT); then many scrapes, also on fresh
connections, through --metrics-listen and through the S3 port with the bearer token. Each
is answered by either worker, and every one must show the exact totals: only the sum over
both workers' files (prometheus-client's multiprocess mode) can.
"""

from __future__ import annotations

import http.client
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client
from tests.support.gateway import GatewayProcess, free_port

TOKEN = "integration-metrics-token"
PUTS = {f"obj-{i}": b"m" * (1000 * (i + 1)) for i in range(6)}
GETS = ["obj-0", "obj-1", "obj-2", "obj-5"]
MISSING = ["nope-1", "nope-2", "nope-3"]
SCRAPES = 12

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def fresh(gateway: GatewayProcess) -> Any:
    """A boto3 client of its own: a new connection, so either worker may take it."""
    return boto3_client(gateway)


def scrape(host: str, port: int, headers: dict[str, str]) -> Samples:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", "/metrics", headers={**headers, "Connection": "close"})
        response = conn.getresponse()
        text = response.read().decode()
        assert response.status == 200, text
    finally:
        conn.close()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_summed_across_two_workers(gateway_factory: GatewayFactory) -> None:
    metrics_port = free_port()
    gw = gateway_factory(
        # --inline-threshold 0: every PUT reaches the backend, whose counters are checked.
        extra_args=[
            *("--workers", "2", "--metrics-listen", f"127.0.0.1:{metrics_port}"),
            *("--inline-threshold", "0"),
        ],
        extra_env={"KLOUDVAULT_METRICS_TOKEN": TOKEN},
    )
    bucket = "metrics-workload"
    fresh(gw).create_bucket(Bucket=bucket)
    for key, data in PUTS.items():
        fresh(gw).put_object(Bucket=bucket, Key=key, Body=data)
    for key in GETS:
        assert fresh(gw).get_object(Bucket=bucket, Key=key)["Body"].read() == PUTS[key]
    for key in MISSING:
        client = fresh(gw)
        try:
            client.get_object(Bucket=bucket, Key=key)
        except client.exceptions.NoSuchKey:
            pass
        else:
            raise AssertionError(f"{key} exists")

    bearer = {"Authorization": f"Bearer {TOKEN}"}
    answers = [scrape(gw.host, metrics_port, bearer) for _ in range(SCRAPES)]
    answers += [scrape(gw.host, gw.port, bearer) for _ in range(SCRAPES)]
    for samples in answers:
        assert (
            sample(samples, "kloudvault_requests_total", operation="CreateBucket", status="200")
            == 1
        )
        assert sample(
            samples, "kloudvault_requests_total", operation="PutObject", status="200"
        ) == len(PUTS)
        assert sample(
            samples, "kloudvault_requests_total", operation="GetObject", status="200"
        ) == len(GETS)
        assert sample(
            samples, "kloudvault_requests_total", operation="GetObject", status="404"
        ) == len(MISSING)
        assert sample(
            samples, "kloudvault_errors_total", operation="GetObject", code="NoSuchKey"
        ) == len(MISSING)
        assert sample(
            samples, "kloudvault_request_duration_seconds_count", operation="PutObject"
        ) == len(PUTS)
        assert sample(
            samples, "kloudvault_request_first_byte_seconds_count", operation="GetObject"
        ) == len(GETS) + len(MISSING)
        assert sample(samples, "kloudvault_received_bytes_total", operation="PutObject") == sum(
            map(len, PUTS.values())
        )
        assert sample(samples, "kloudvault_sent_bytes_total", operation="GetObject") >= sum(
            len(PUTS[k]) for k in GETS
        )
        assert sample(samples, "kloudvault_backend_requests_total", operation="put_blob") == len(
            PUTS
        )
        assert sample(samples, "kloudvault_requests_in_flight") == 0
        assert sample(samples, "kloudvault_bucket_objects", bucket=bucket) == len(PUTS)
        assert sample(samples, "kloudvault_bucket_bytes", bucket=bucket) == sum(
            map(len, PUTS.values())
        )
        assert sample(samples, "kloudvault_backend_up", backend="local") == 1

    # The token guards both listeners; without it the S3 port answers as S3.
    conn = http.client.HTTPConnection(gw.host, metrics_port, timeout=30)
    conn.request("GET", "/metrics")
    assert conn.getresponse().status == 401
    conn.close()
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})
    refused = conn.getresponse()
    assert refused.status == 401 and b"<Error>" not in refused.read()
    conn.close()
