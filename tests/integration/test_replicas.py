"""Three gateway replicas sharing PostgreSQL, Redis and one backend behave as one server.

The cluster (module scope): three `serve` processes on their own ports with one
--metadata-url (a fresh PostgreSQL schema), one --redis-url (a private redis-server this
module starts, so it can kill it) and one --data-dir (the local backend's blobs, shared as
a real deployment shares its S3 or Azure container). The collector runs every 0.5 s on
whichever replica holds the leader lock, with a 5 s pending TTL.

- test_random_clients_read_their_writes_through_any_replica: threads of boto3 clients
  write, overwrite, delete and read random keys through random replicas, while Redis is
  killed (SIGKILL) and restarted. Every read must see the last acknowledged write: exactly,
  for keys one thread owns; for keys all threads write, never a value some acknowledged
  write had replaced before the read began. No client may see an error.
- test_multipart_parts_through_different_replicas: create on one, parts on two others,
  complete on the third.
- test_replica_killed_mid_upload: the collector's leader is killed -9 while it receives a
  PUT; the other replicas keep serving, one of them takes the lead, and the dead upload's
  pending blob and temp file are collected.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis as redis_sync
from botocore.exceptions import ClientError

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client
from tests.support.gateway import GatewayProcess, random_access_key, random_secret_key
from tests.support.postgres import fresh_schema_sync, query_sync
from tests.support.redis import RedisServer

REPLICAS = 3
THREADS = 6
PENDING_TTL = 5.0
# Redis down for longer than a write waits for its replica's own lease to expire once an
# invalidation fails (lease 3 s + Redis timeout 0.5 s, gateway/meta/redis_cache.py): every
# client thread may be held in such a write when Redis dies, and must have come out of it.
REDIS_OUTAGE = 5.0
LEADER_LINE = "collector: this replica is now the leader"
BUCKET = "replicas"


@dataclass
class Cluster:
    gateways: list[GatewayProcess]
    redis: RedisServer
    dsn: str
    data_dir: Path
    access_key: str
    secret_key: str
    clients: dict[tuple[int, int], Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, replica: int) -> Any:
        """A boto3 client on `replica`, one per (thread, replica): clients are not shared."""
        key = (threading.get_ident(), replica)
        with self.lock:
            if key not in self.clients:
                self.clients[key] = boto3_client(self.gateways[replica])
            return self.clients[key]

    def live(self) -> list[int]:
        return [i for i, gw in enumerate(self.gateways) if gw.running]


@pytest.fixture(scope="module")
def cluster(
    gateway_factory: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("replicas-data")
    access_key, secret_key = random_access_key(), random_secret_key()
    with RedisServer() as redis_server, fresh_schema_sync("rep") as dsn:
        args = [
            "--data-dir",
            str(data_dir),
            "--metadata-url",
            dsn,
            "--redis-url",
            redis_server.url,
            "--gc-interval",
            "0.5",
            "--gc-grace",
            "3",
            "--pending-ttl",
            str(PENDING_TTL),
        ]
        gateways: list[GatewayProcess] = []
        try:
            for _ in range(REPLICAS):
                gateways.append(
                    gateway_factory(
                        "http", extra_args=args, access_key=access_key, secret_key=secret_key
                    )
                )
            c = Cluster(gateways, redis_server, dsn, data_dir, access_key, secret_key)
            c.client(0).create_bucket(Bucket=BUCKET)
            yield c
        except BaseException:
            print_logs(gateways)
            raise
        finally:
            for gw in gateways:
                gw.stop()


def print_logs(gateways: list[GatewayProcess]) -> None:
    """The gateways' logs without the access log lines."""
    for gw in gateways:
        lines = [line for line in gw.logs_since().splitlines() if "kloudvault.access" not in line]
        print(f"---- {gw.endpoint}\n" + "\n".join(lines[-60:]))


# -- the history checker ---------------------------------------------------------------------
@dataclass
class Write:
    value: str | None  # the ETag written, None for a delete
    start: float
    end: float = float("inf")  # acknowledged at; inf while in flight (or failed)


class History:
    """Writes of shared keys; checks each read against them (a register's linearizability,
    read side): the value read must come from a write that started before the read ended
    and that no write acknowledged before the read started had replaced."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: dict[str, list[Write]] = {}

    def begin(self, key: str, value: str | None) -> Write:
        w = Write(value, time.monotonic())
        with self.lock:
            self.writes.setdefault(key, []).append(w)
        return w

    def check(self, key: str, got: str | None, start: float, end: float) -> None:
        with self.lock:
            writes = list(self.writes.get(key, []))
        initial = Write(None, float("-inf"), float("-inf"))
        candidates = [w for w in [initial, *writes] if w.value == got and w.start < end]
        for c in candidates:
            if not any(c.end < w.start and w.end < start for w in writes):
                return
        raise AssertionError(f"stale or phantom read of {key!r}: got {got}; writes {writes}")


def etag_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def read(cluster: Cluster, replica: int, key: str) -> str | None:
    try:
        response = cluster.client(replica).get_object(Bucket=BUCKET, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise
    body = response["Body"].read()
    etag = str(response["ETag"]).strip('"')
    assert etag == etag_of(body), "ETag and body disagree"
    return etag


def head(cluster: Cluster, replica: int, key: str) -> str | None:
    try:
        return str(cluster.client(replica).head_object(Bucket=BUCKET, Key=key)["ETag"]).strip('"')
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return None
        raise


@dataclass
class Workload:
    """Threads of random operations through random live replicas; errors are collected."""

    cluster: Cluster
    replicas: Callable[[], list[int]]
    prefix: str
    threads: int = THREADS
    shared_keys: int = 3
    owned_keys: int = 4
    history: History = field(default_factory=History)
    errors: list[str] = field(default_factory=list)
    ops: int = 0
    owned: dict[str, str | None] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Start the threads; returns once each has its clients (boto3 clients are slow to
        make: seconds, on a busy 2-core machine)."""
        ready = threading.Barrier(self.threads + 1)
        for n in range(self.threads):
            t = threading.Thread(target=self._run, args=(n, ready), name=f"client-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        ready.wait(timeout=120)

    def finish(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in self._threads), "a client thread hangs"
        if self.errors:
            print_logs(self.cluster.gateways)
        assert not self.errors, "\n".join(self.errors[:10])

    def _run(self, n: int, ready: threading.Barrier) -> None:
        for replica in self.replicas():
            self.cluster.client(replica)
        ready.wait(timeout=120)
        rng = random.Random(n)
        mine = {f"{self.prefix}/t{n}/k{i}": None for i in range(self.owned_keys)}
        model: dict[str, str | None] = dict(mine)
        shared = [f"{self.prefix}/shared/{i}" for i in range(self.shared_keys)]
        try:
            while not self.stop.is_set():
                self._step(rng, model, shared)
                self.ops += 1
        except Exception as exc:  # every error is a failure: report it, stop this thread
            self.errors.append(f"client-{n}: {type(exc).__name__}: {exc}")
        self.owned.update(model)

    def _step(self, rng: random.Random, model: dict[str, str | None], shared: list[str]) -> None:
        replica = rng.choice(self.replicas())
        if rng.random() < 0.3:  # a shared key: several writers at once
            key = rng.choice(shared)
            if rng.random() < 0.4:
                started = time.monotonic()
                got = read(self.cluster, replica, key)
                self.history.check(key, got, started, time.monotonic())
                return
            if rng.random() < 0.15:
                w = self.history.begin(key, None)
                self.cluster.client(replica).delete_object(Bucket=BUCKET, Key=key)
            else:
                body = os.urandom(rng.randint(1, 4096))
                w = self.history.begin(key, etag_of(body))
                self.cluster.client(replica).put_object(Bucket=BUCKET, Key=key, Body=body)
            w.end = time.monotonic()
            return
        key = rng.choice(list(model))
        op = rng.random()
        if op < 0.35:
            body = os.urandom(rng.randint(0, 8192))
            answer = self.cluster.client(replica).put_object(Bucket=BUCKET, Key=key, Body=body)
            assert answer["ETag"].strip('"') == etag_of(body)
            model[key] = etag_of(body)
            other = rng.choice(self.replicas())  # read it back elsewhere at once
            assert read(self.cluster, other, key) == model[key], (key, replica, other)
        elif op < 0.45:
            self.cluster.client(replica).delete_object(Bucket=BUCKET, Key=key)
            model[key] = None
            other = rng.choice(self.replicas())
            assert head(self.cluster, other, key) is None, (key, replica, other)
        elif op < 0.75:
            assert read(self.cluster, replica, key) == model[key], (key, replica)
        else:
            assert head(self.cluster, replica, key) == model[key], (key, replica)


def listing(cluster: Cluster, replica: int, prefix: str) -> dict[str, str]:
    s3 = cluster.client(replica)
    out: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"]] = item["ETag"].strip('"')
    return out


def redis_stats(cluster: Cluster) -> tuple[int, int]:
    """(script calls since Redis started, replicas holding a live lease). A replica killed
    by an earlier test keeps its expired lease in the roster for a while: not counted."""
    r = redis_sync.Redis.from_url(cluster.redis.url)
    try:
        stats = r.info("commandstats")
        calls = sum(
            v["calls"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")
        )
        seconds, micros = r.time()
        return calls, int(r.zcount("{kv}:members", seconds + micros / 1e6, "+inf"))
    finally:
        r.close()


# -- the tests ---------------------------------------------------------------------------------
@pytest.mark.timeout(240)
def test_random_clients_read_their_writes_through_any_replica(cluster: Cluster) -> None:
    work = Workload(cluster, lambda: [0, 1, 2], "rw")
    work.start()
    try:
        time.sleep(5)
        calls, members = redis_stats(cluster)
        assert calls > 100 and members == REPLICAS, (calls, members, work.ops, work.errors)
        before_kill = work.ops
        cluster.redis.kill()  # SIGKILL: no chance to say goodbye
        time.sleep(REDIS_OUTAGE)
        during = work.ops - before_kill
        cluster.redis.start()
        time.sleep(6)
        calls, members = redis_stats(cluster)  # the replicas came back to the cache
        assert calls > 50 and members == REPLICAS, (calls, members)
    finally:
        work.finish()
    print(f"{work.ops} operations, {during} while Redis was down")
    assert during > 0, "nothing ran while Redis was down"
    expected = {k: v for k, v in work.owned.items() if v is not None and "/shared/" not in k}
    for replica in range(REPLICAS):
        got = listing(cluster, replica, "rw/t")
        assert got == expected, f"replica {replica} lists differently"


def test_multipart_parts_through_different_replicas(cluster: Cluster) -> None:
    key = "mp/object"
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
    upload_id = cluster.client(0).create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    done = []
    for number, (replica, data) in enumerate(zip([0, 1], parts, strict=True), start=1):
        answer = cluster.client(replica).upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        done.append({"PartNumber": number, "ETag": answer["ETag"]})
    listed = cluster.client(2).list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2]
    result = cluster.client(2).complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert result["ETag"] == f'"{digest}-2"'
    for replica in range(REPLICAS):
        got = cluster.client(replica).get_object(Bucket=BUCKET, Key=key)
        assert got["ETag"] == result["ETag"]
        assert got["Body"].read() == b"".join(parts)


def leaders(cluster: Cluster) -> list[int]:
    """Replicas whose log says they lead the collector (and not that they lost it since)."""
    found = []
    for i, gw in enumerate(cluster.gateways):
        log = gw.stderr_path.read_text(errors="replace")
        last_won = log.rfind(LEADER_LINE)
        if last_won >= 0 and log.rfind("lost the leader lock") < last_won and gw.running:
            found.append(i)
    return found


def temp_files(cluster: Cluster) -> set[str]:
    tmp = cluster.data_dir / "blobs" / "tmp"
    return set(os.listdir(tmp)) if tmp.is_dir() else set()


@pytest.mark.timeout(180)
def test_replica_killed_mid_upload(cluster: Cluster) -> None:
    deadline = time.monotonic() + 10
    while len(leaders(cluster)) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    (victim,) = leaders(cluster)
    others = [i for i in range(REPLICAS) if i != victim]
    pending_before = {
        r["blob_id"] for r in query_sync(cluster.dsn, "SELECT blob_id FROM pending_blobs")
    }

    work = Workload(cluster, lambda: others, "kill", threads=3)
    try:
        gw = cluster.gateways[victim]
        url = cluster.client(victim).generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": "kill/big"}, ExpiresIn=600
        )
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(gw.host, gw.port, timeout=30)
        conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
        conn.putheader("Content-Length", str(64 * 1024 * 1024))
        conn.endheaders()
        conn.send(os.urandom(2 * 1024 * 1024))  # ... and never the rest
        deadline = time.monotonic() + 10
        new_pending: set[str] = set()
        while not new_pending and time.monotonic() < deadline:
            rows = query_sync(cluster.dsn, "SELECT blob_id FROM pending_blobs")
            new_pending = {r["blob_id"] for r in rows} - pending_before
            time.sleep(0.05)
        assert len(new_pending) == 1, new_pending
        (blob_id,) = new_pending
        # The local backend (unless KLOUDVAULT_TEST_GATEWAY_ARGS chose another) streams
        # into a temp file, which the collector must remove too.
        local = (cluster.data_dir / "blobs").is_dir()
        deadline = time.monotonic() + 10
        while local and not any(name.startswith(blob_id) for name in temp_files(cluster)):
            assert time.monotonic() < deadline, "the upload's temp file never appeared"
            time.sleep(0.05)
        work.start()  # clients keep working on the other replicas from here on
        time.sleep(1)
        gw.kill9()
        conn.close()
        killed_at = time.monotonic()

        # Another replica takes the lead, and collects the dead upload after the TTL.
        deadline = killed_at + 20
        while not leaders(cluster) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leaders(cluster) and leaders(cluster)[0] in others, "nobody took over"
        took_over = time.monotonic() - killed_at
        while time.monotonic() < killed_at + PENDING_TTL + 20:
            pending = query_sync(
                cluster.dsn, "SELECT 1 FROM pending_blobs WHERE blob_id = $1", blob_id
            )
            garbage = query_sync(
                cluster.dsn, "SELECT 1 FROM garbage_blobs WHERE blob_id = $1", blob_id
            )
            leftovers = [n for n in temp_files(cluster) if n.startswith(blob_id)]
            if not pending and not garbage and not leftovers:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"blob {blob_id} not collected: {pending} {garbage} {leftovers}")
        collected = time.monotonic() - killed_at
        print(f"leader {victim} killed: takeover {took_over:.1f}s, collected {collected:.1f}s")
    finally:
        work.finish()
    assert work.ops > 0
    expected = {k: v for k, v in work.owned.items() if v is not None and "/shared/" not in k}
    for replica in others:
        assert listing(cluster, replica, "kill/t") == expected
    cluster.gateways[victim].start()  # back for whatever runs next; it rejoins the cluster
    assert head(cluster, victim, "kill/big") is None
