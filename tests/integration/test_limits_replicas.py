"""Limits hold across replicas: two `serve` processes sharing PostgreSQL and Redis (the
shape of tests/integration/test_access_clients.py's `pair`) draw one key's requests from one
token bucket in Redis, and stop racing writers exactly at a quota set with `kloudvault
admin quota set`, leaving nothing stored for the writes refused."""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from gateway import cli
from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client
from tests.support.gateway import (
    GatewayProcess,
    parse_user_keys,
    random_access_key,
    random_secret_key,
)
from tests.support.postgres import fresh_schema_sync, query_sync
from tests.support.redis import delete_namespace, shared_redis_url

BURST = 10  # requests per key, all replicas together (the rate refills 1 per 1000 s)


@dataclass
class Replicas:
    a: GatewayProcess
    b: GatewayProcess
    dsn: str
    data_dir: Path

    def admin(self, *args: str) -> str:
        """`kloudvault admin ARGS` on the replicas' database, in this process (a subprocess
        would cost seconds of interpreter start-up each)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli.main(["admin", "--metadata-url", self.dsn, *args]) == 0
        return out.getvalue()


@pytest.fixture(scope="module")
def replicas(
    gateway_factory: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    data_dir = tmp_path_factory.mktemp("limits-pair")
    keys = {"access_key": random_access_key(), "secret_key": random_secret_key()}
    namespace = f"kvt-limits-{secrets.token_hex(4)}"
    redis_url = f"{shared_redis_url()}?prefix={namespace}"
    try:
        with fresh_schema_sync("lim") as dsn:
            args = [
                *("--data-dir", str(data_dir), "--metadata-url", dsn, "--redis-url", redis_url),
                *("--rate-limit-key", f"0.001:{BURST}"),
                # Blobs, not inline rows: the quota race checks a refused write left no file.
                *("--inline-threshold", "0"),
            ]
            a = gateway_factory("http", extra_args=args, **keys)
            b = gateway_factory("http", extra_args=args, **keys)
            try:
                yield Replicas(a, b, dsn, data_dir)
            finally:
                a.stop()
                b.stop()
    finally:
        delete_namespace(shared_redis_url(), namespace)


def error_code(call: Any) -> str | None:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def test_one_rate_limit_for_all_replicas(replicas: Replicas) -> None:
    access_key, secret_key = parse_user_keys(replicas.admin("user", "create", "ratey"))
    clients = [
        boto3_client(gw, access_key=access_key, secret_key=secret_key)
        for gw in (replicas.a, replicas.b)
    ]
    # Alternating replicas: together they grant BURST requests, then both refuse.
    codes = [error_code(clients[i % 2].list_buckets) for i in range(BURST + 2)]
    assert codes == [None] * BURST + ["SlowDown", "SlowDown"]
    # Another key is not slowed down by this one.
    assert error_code(boto3_client(replicas.b).list_buckets) is None


def test_quota_across_replicas_stops_racing_writers(replicas: Replicas) -> None:
    owner_key, owner_secret = parse_user_keys(replicas.admin("user", "create", "quoted"))
    a, b = (
        boto3_client(gw, access_key=owner_key, secret_key=owner_secret)
        for gw in (replicas.a, replicas.b)
    )
    a.create_bucket(Bucket="quoted")
    replicas.admin("quota", "set", "--bucket", "quoted", "--bytes", "1000")
    # Four writers of 300 bytes at once, two through each replica: three fit.
    body = b"q" * 300
    with ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(
                lambda i: error_code(
                    lambda: (a, b)[i % 2].put_object(Bucket="quoted", Key=f"k{i}", Body=body)
                ),
                range(4),
            )
        )
    assert sorted(codes, key=str) == [None, None, None, "QuotaExceeded"]
    listed = b.list_objects_v2(Bucket="quoted").get("Contents", [])
    assert sum(o["Size"] for o in listed) == 900
    shown = replicas.admin("quota", "show", "--bucket", "quoted")
    assert "bytes 900/1000 (90%)" in shown
    # The refused write left no version, no pending blob and no file behind.
    pending = query_sync(replicas.dsn, "SELECT COUNT(*) AS n FROM pending_blobs")
    assert pending[0]["n"] == 0
    files = [p for p in (replicas.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 3
