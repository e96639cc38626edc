"""Share links across two replicas sharing PostgreSQL and Redis: a link made on one
replica downloads (curl, with Range) from the other, and a revoke on either replica,
through the JSON API or the CLI, is refused by the other at once."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway import cli
from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.gateway import GatewayProcess, random_access_key, random_secret_key
from tests.support.postgres import fresh_schema_sync
from tests.support.redis import RedisServer
from tests.support.share_api import api


@dataclass(frozen=True)
class Replicas:
    a: GatewayProcess
    b: GatewayProcess
    store_args: tuple[str, ...]  # what `kloudvault share` needs to reach the same store


@pytest.fixture(scope="module")
def replicas(
    gateway_factory: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    data_dir = tmp_path_factory.mktemp("share-pair")
    keys = {"access_key": random_access_key(), "secret_key": random_secret_key()}
    with RedisServer() as redis_server, fresh_schema_sync("share") as dsn:
        store = ("--data-dir", str(data_dir), "--metadata-url", dsn)
        args = [*store, "--redis-url", redis_server.url]
        a = gateway_factory("http", extra_args=args, **keys)
        b = gateway_factory("http", extra_args=args, **keys)
        try:
            yield Replicas(a, b, store)
        finally:
            a.stop()
            b.stop()


def curl(gateway: GatewayProcess, path: str, *args: str) -> tuple[int, bytes]:
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args, gateway.endpoint + path]
    out = subprocess.run(cmd, capture_output=True, timeout=30, check=True)
    body, _, status = out.stdout.rpartition(b"\n")
    return int(status), body


def test_revoked_on_one_replica_is_refused_on_the_other_at_once(
    replicas: Replicas, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = replicas.a, replicas.b
    keys = (a.access_key, a.secret_key)
    s3 = boto3_client(a)
    bucket = unique_bucket_name("share")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="file.bin", Body=b"abcdefghij")

    made = api(
        a.endpoint,
        "POST",
        "/_kv/shares",
        keys=keys,
        payload={"bucket": bucket, "key": "file.bin", "expires": "1d"},
    )
    assert made.status == 201, made.body
    path = made.json()["path"]
    assert curl(b, path) == (200, b"abcdefghij")
    assert curl(b, path, "-r", "3-5") == (206, b"def")
    assert curl(a, path)[0] == 200  # warm on both

    revoked = api(a.endpoint, "DELETE", f"/_kv/shares/{made.json()['id']}", keys=keys)
    assert revoked.status == 200
    status, body = curl(b, path)
    assert status == 410 and b"ShareLinkGone" in body
    listing = api(b.endpoint, "GET", "/_kv/shares", keys=keys).json()["shares"]
    assert [(s["state"], s["downloads"]) for s in listing] == [("revoked", 3)]

    # The other way round, from the shell on the shared store.
    argv = ["share", "create", f"s3://{bucket}/file.bin", "--expires", "1h", *replicas.store_args]
    assert cli.main(argv) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    second = lines["url"].strip()
    assert curl(a, second) == (200, b"abcdefghij")
    assert cli.main(["share", "revoke", lines["link"].strip(), *replicas.store_args]) == 0
    assert curl(a, second)[0] == 410
    assert curl(b, second)[0] == 410

    s3.delete_object(Bucket=bucket, Key="file.bin")
    s3.delete_bucket(Bucket=bucket)
