"""Nothing lost (issue #15): with the webhook receiver down, 200 acknowledged PUTs, then
kill -9 of the gateway; the receiver and the gateway restarted: every PUT's event arrives
(duplicates allowed and counted, none missing). Once on SQLite with one gateway, once on
PostgreSQL with two replicas sharing the outbox (one of them dispatches at a time).

The receiver is an aiohttp server on a thread of its own, on a port fixed before it
first starts, so the targets' URL stays the same across its outage.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.gateway import GatewayProcess
from tests.support.ports import free_port
from tests.support.postgres import fresh_schema_sync
from tests.support.webhook import WebhookReceiver

PUTS = 200
SECRET = "crash-secret"
ARN = "arn:kloudvault:sqs:us-east-1:000000000000:hook"


@contextmanager
def receiver_on(port: int) -> Iterator[WebhookReceiver]:
    """A WebhookReceiver serving on `port` from a thread's own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    hook = WebhookReceiver(secret=SECRET)
    asyncio.run_coroutine_threadsafe(hook.start(port), loop).result(10)
    try:
        yield hook
    finally:
        asyncio.run_coroutine_threadsafe(hook.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def gateway_args(port: int) -> list[str]:
    return [
        "--notify-target",
        f"hook=http://127.0.0.1:{port}/hook",
        "--notify-secret",
        SECRET,
        "--notify-backoff",
        "0.05",
        "--notify-backoff-max",
        "0.5",  # a retry comes within 0.5 s of the receiver's return
        "--notify-attempts",
        "100000",
    ]


def put_all(gateways: list[GatewayProcess], bucket: str) -> None:
    """PUTS small objects concurrently, spread over the gateways; each acknowledged."""
    clients = [boto3_client(gw) for gw in gateways]

    def put(i: int) -> None:
        clients[i % len(clients)].put_object(Bucket=bucket, Key=f"k/{i:03d}", Body=b"%d" % i)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(PUTS)))


def configure(gateway: GatewayProcess, bucket: str) -> None:
    s3 = boto3_client(gateway)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": ARN, "Events": ["s3:ObjectCreated:*"]}]
        },
    )


def wait_for_all(hook: WebhookReceiver, timeout: float = 60.0) -> Counter[str]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = Counter(r["s3"]["object"]["key"] for r in hook.records())
        if len(got) >= PUTS or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def check(got: Counter[str], hook: WebhookReceiver) -> None:
    missing = [f"k/{i:03d}" for i in range(PUTS) if f"k/{i:03d}" not in got]
    assert not missing, f"{len(missing)} events missing, e.g. {missing[:5]}"
    duplicates = sum(n - 1 for n in got.values())
    print(f"{PUTS} events arrived, {duplicates} duplicates")
    assert hook.bad_signatures == 0


def run(gateways: list[GatewayProcess], hook_port: int) -> None:
    bucket = unique_bucket_name("events-crash")
    configure(gateways[0], bucket)
    put_all(gateways, bucket)
    for gw in gateways:
        gw.kill9()
    with receiver_on(hook_port) as hook:
        for gw in gateways:
            gw.start()
        check(wait_for_all(hook), hook)


def test_events_survive_kill9_sqlite(gateway_factory: Callable[..., GatewayProcess]) -> None:
    port = free_port()
    gw = gateway_factory("http", extra_args=gateway_args(port))
    try:
        run([gw], port)
    except BaseException:
        print(gw.logs_since(limit=20_000))
        raise


def test_events_survive_kill9_two_replicas_postgres(
    gateway_factory: Callable[..., GatewayProcess],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("events-pair")
    with fresh_schema_sync("evt") as dsn:
        args = ["--data-dir", str(data_dir), "--metadata-url", dsn, *gateway_args(port)]
        gateways: list[Any] = []
        try:
            gateways.append(gateway_factory("http", extra_args=args))
            gateways.append(gateway_factory("http", extra_args=args))
            run(gateways, port)
        except BaseException:
            for gw in gateways:
                print(gw.logs_since(limit=20_000))
            raise
        finally:
            for gw in gateways:
                gw.stop()
