"""`serve --workers 2` on SQLite: each worker caches the latest versions it read
(gateway/meta/version_cache.py), and a write through one worker is what the next read
through either returns. Clients on several connections, which the kernel spreads over both
workers (SO_REUSEPORT), overwrite and delete their keys and read them back every time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client

THREADS = 4
ROUNDS = 30


def _connections(gw: Any) -> list[Any]:
    """Clients of one connection each: each may land on either worker."""
    return [boto3_client(gw, max_pool_connections=1) for _ in range(3)]


def _body(client: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    except client.exceptions.NoSuchKey:
        return None


@pytest.mark.timeout(180)
def test_a_write_through_one_worker_is_read_through_every_worker(
    gateway_factory: GatewayFactory,
) -> None:
    gw = gateway_factory(extra_args=["--workers", "2"])
    bucket = "workers-rw"
    boto3_client(gw).create_bucket(Bucket=bucket)

    def work(n: int) -> int:
        clients = _connections(gw)
        key = f"k{n}"
        checked = 0
        for i in range(ROUNDS):
            writer = clients[i % len(clients)]
            data: bytes | None = None
            if i % 5 == 4:
                writer.delete_object(Bucket=bucket, Key=key)
            else:
                data = f"{n}-{i}".encode() * (i + 1)
                writer.put_object(Bucket=bucket, Key=key, Body=data)
            for reader in clients:  # twice each: the second may come from a cache
                for _ in range(2):
                    assert _body(reader, bucket, key) == data, (key, i)
                    checked += 1
        return checked

    with ThreadPoolExecutor(THREADS) as pool:
        checked = sum(pool.map(work, range(THREADS)))
    assert checked == THREADS * ROUNDS * 6
