"""Fault injection: PostgreSQL restarted under two replicas' writes (issue #18).

Two `serve` replicas share one --data-dir (the local backend's blobs, as a deployment
shares its S3 container) and one PostgreSQL: a throwaway cluster of this test's own
(tests/support/postgres_server.py; the machine's shared server is never touched). Threads
of boto3 clients without retries write unique keys through both replicas while the
cluster is shut down at once (SIGQUIT: connections drop mid-transaction, WAL recovery at
the next start) and started again on its port.

- A write in flight or sent during the outage fails cleanly: an S3 error document with
  503 (or 500), never a dropped connection or another status.
- Once PostgreSQL answers again, both replicas take writes again, without a restart.
- Nothing acknowledged is lost: every acknowledged key reads back, byte for byte, through
  both replicas. A failed write left either nothing or its whole object (its commit may
  have happened before the connection dropped), never a version whose blob is missing
  or another write's bytes; the listing holds exactly the keys that read back.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client
from tests.support.gateway import GatewayProcess, random_access_key, random_secret_key
from tests.support.postgres_server import PostgresServer

BUCKET = "pg-restart"
THREADS_PER_REPLICA = 2
OUTAGE = 1.5  # seconds PostgreSQL stays down
RECOVERY = 20.0  # the longest the run waits for AFTER writes per thread once it is back
SETTLED = 5.0  # a write begun this long after PostgreSQL answers again must succeed
AFTER = 3  # acknowledged writes per thread, begun after recovery, that end the run


@dataclass
class Attempt:
    key: str
    etag: str
    began: float
    ok: bool = False
    failure: str = ""  # "<status> <code>" of an S3 error, else what the client raised


@dataclass
class Writer:
    """One thread writing unique small keys through one replica until stopped."""

    gateway: GatewayProcess
    name: str
    attempts: list[Attempt] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        s3 = boto3_client(self.gateway, read_timeout=30)
        n = 0
        while not self.stop.is_set():
            n += 1
            body = os.urandom(1024) + f"{self.name}/{n}".encode()
            attempt = Attempt(f"{self.name}/{n}", hashlib.md5(body).hexdigest(), time.monotonic())
            try:
                s3.put_object(Bucket=BUCKET, Key=attempt.key, Body=body)
                attempt.ok = True
            except ClientError as exc:
                meta = exc.response.get("ResponseMetadata", {})
                code = exc.response.get("Error", {}).get("Code", "")
                attempt.failure = f"{meta.get('HTTPStatusCode')} {code}"
            except Exception as exc:  # a dropped connection, a timeout: not a clean failure
                attempt.failure = f"{type(exc).__name__}: {exc}"
            self.attempts.append(attempt)
            if not attempt.ok:
                time.sleep(0.05)  # the outage: do not spin

    def acknowledged_since(self, moment: float) -> int:
        return sum(1 for a in list(self.attempts) if a.ok and a.began >= moment)


@pytest.fixture
def cluster(
    gateway_factory: GatewayFactory, tmp_path: Path
) -> Iterator[tuple[PostgresServer, list[GatewayProcess]]]:
    postgres = PostgresServer()
    with postgres:
        access_key, secret_key = random_access_key(), random_secret_key()
        args = ["--data-dir", str(tmp_path / "data"), "--metadata-url", postgres.dsn]
        gateways = [
            gateway_factory("http", extra_args=args, access_key=access_key, secret_key=secret_key)
            for _ in range(2)
        ]
        try:
            yield postgres, gateways
        finally:
            for gw in gateways:
                gw.stop()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def test_postgres_restart_under_two_replicas_writes(
    cluster: tuple[PostgresServer, list[GatewayProcess]],
) -> None:
    postgres, gateways = cluster
    boto3_client(gateways[0]).create_bucket(Bucket=BUCKET)
    writers = [
        Writer(gw, f"r{i}-t{t}")
        for i, gw in enumerate(gateways)
        for t in range(THREADS_PER_REPLICA)
    ]
    for w in writers:
        w.start()
    try:
        wait_until(lambda: all(w.acknowledged_since(0) >= 3 for w in writers), 60, "warm-up")
        crashed = time.monotonic()
        postgres.crash()
        time.sleep(OUTAGE)
        postgres.start()
        back = time.monotonic()
        wait_until(
            lambda: all(w.acknowledged_since(back) >= AFTER for w in writers),
            RECOVERY,
            f"{AFTER} acknowledged writes per thread after PostgreSQL came back",
        )
    finally:
        for w in writers:
            w.stop.set()
        for w in writers:
            assert w.thread is not None
            w.thread.join(60)
    attempts = [a for w in writers for a in w.attempts]
    failed = [a for a in attempts if not a.ok]
    first_ok = [
        min((a.began for a in w.attempts if a.ok and a.began >= back), default=0) for w in writers
    ]
    print(  # shown with -s: what the outage cost
        f"writes: {len(attempts)}, acknowledged {len(attempts) - len(failed)}, failed:"
        f" {Counter(a.failure for a in failed)}; first acknowledged write begun after"
        f" PostgreSQL was back, per thread: {[round(t - back, 2) for t in first_ok]} s"
    )
    # The outage was hit, and every failure was a clean S3 error.
    assert failed, "no write failed: the restart happened between requests?"
    unclean = [a for a in failed if a.failure.split(" ")[0] not in ("503", "500")]
    assert not unclean, [(a.key, a.failure) for a in unclean]
    # Failures belong to the outage (and to the requests in flight when it began).
    late = [a for a in failed if a.began > back + SETTLED]
    assert not late, [(a.key, a.failure) for a in late]
    assert all(a.began >= crashed - 30 for a in failed)

    # Nothing acknowledged lost; nothing torn; the listing agrees, on both replicas.
    for gw in gateways:
        s3 = boto3_client(gw)
        present: set[str] = set()
        for a in attempts:
            try:
                got = s3.get_object(Bucket=BUCKET, Key=a.key)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "NoSuchKey", (a.key, exc.response)
                assert not a.ok, f"acknowledged {a.key} lost"
                continue
            body = got["Body"].read()
            assert hashlib.md5(body).hexdigest() == a.etag == got["ETag"].strip('"'), a.key
            present.add(a.key)
        listed: set[str] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            listed.update(o["Key"] for o in page.get("Contents", []))
        assert listed == present
    for gw in gateways:
        # An outage is logged as one line per failure (gateway/logs.py, OutageLines).
        logs = [line for line in gw.logs_since().splitlines() if "kloudvault.access" not in line]
        assert not any("Traceback" in line for line in logs), "\n".join(logs)
