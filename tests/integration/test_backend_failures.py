"""The gateway when its remote backend dies in the middle of uploads, and comes back.

Each backend kind gets a server of its own (the session's shared ones are never killed)
and a gateway on it with the default backend timeouts and retries. The scenario:

1. objects (a single PUT, a blob the backend uploads in parts, a multipart object) and a
   multipart upload in progress are written and made durable;
2. uploads are caught in flight: presigned PUTs and an UploadPart send half their body
   and wait, while boto3 threads (retries off) upload objects one after the other;
3. the server is SIGKILLed, the held uploads send the rest of their bodies;
4. while it is down: /minio/health/ready answers 503, reads and writes of blobs get 5xx
   S3 error documents (ServiceUnavailable, SlowDown or InternalError) and none hangs:
   every request ends within HANG_LIMIT seconds; a small object (stored inline, in the
   metadata store) still reads back;
5. the server restarts on its ports and data; the same gateway process (never restarted)
   becomes ready again, takes new uploads, finishes the multipart upload, and serves
   every object written before (and every upload acknowledged during) the outage with
   its ETag and bytes;
6. `kloudvault admin scrub` finds no referenced blob missing and no orphan: failed
   uploads left nothing unaccounted for (a blob the gateway could not delete stays
   pending for the collector).

Azurite saves its metadata every 5 s, so a SIGKILL loses what it acknowledged just before
(tests/support/azurite.py): for the azure backend the boto3 threads start only once the
server is dead, and the held uploads are the ones cut in the middle. SeaweedFS loses
nothing, so for s3 the threads run across the kill.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from lxml import etree

from backends.s3.errors import client_error_code
from tests.support.azurite import Azurite, start_azurite
from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.gateway import REPO_ROOT, GatewayProcess, start_gateway
from tests.support.remote_backends import S3_BUCKET
from tests.support.seaweedfs import SeaweedFS, start_seaweedfs

pytestmark = pytest.mark.slow

KiB = 1024
MiB = 1024 * KiB
# Every request must end within this: the backend's connect timeout and retries with
# backoff, for the put and the clean-up that follows it, take well under it.
HANG_LIMIT = 45.0
SERVER_ERRORS = {(503, "ServiceUnavailable"), (503, "SlowDown"), (500, "InternalError")}
THREAD_SIZES = (64 * KiB, 3 * MiB, 12 * MiB)


@dataclass
class Peer:
    kind: str
    server: SeaweedFS | Azurite
    gateway: GatewayProcess
    backend_args: list[str]
    loses_recent_writes: bool


def backend_settings(server: SeaweedFS | Azurite) -> tuple[list[str], dict[str, str]]:
    if isinstance(server, SeaweedFS):
        args = ["--backend", "s3", "--s3-endpoint", server.endpoint, "--s3-bucket", S3_BUCKET]
        return args, {
            "KLOUDVAULT_S3_ACCESS_KEY": server.access_key,
            "KLOUDVAULT_S3_SECRET_KEY": server.secret_key,
        }
    return ["--backend", "azure", "--azure-container", "kv-failures"], {
        "KLOUDVAULT_AZURE_CONNECTION_STRING": server.connection_string
    }


@pytest.fixture(scope="module", params=["s3", "azure"])
def peer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Peer]:
    server: SeaweedFS | Azurite = start_seaweedfs() if request.param == "s3" else start_azurite()
    gateway: GatewayProcess | None = None
    try:
        args, env = backend_settings(server)
        gateway = start_gateway(
            tmp_path_factory.mktemp(f"gw-failures-{request.param}"),
            extra_args=["--access-log", *args],
            extra_env=env,
        )
        yield Peer(request.param, server, gateway, args, request.param == "azure")
    finally:
        if gateway is not None:
            gateway.stop()
        server.close()


# -- plain HTTP: what a client sees ------------------------------------------------------------


def ready_status(gw: GatewayProcess) -> int:
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=HANG_LIMIT)
    try:
        conn.request("GET", "/minio/health/ready")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = HANG_LIMIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.2)


def error_code(body: bytes) -> str:
    root = etree.fromstring(body)
    assert root.tag == "Error", body
    return root.findtext("Code") or ""


class HeldUpload:
    """A presigned PUT that sends half its body, then waits for `finish()`."""

    def __init__(self, gw: GatewayProcess, url: str, body: bytes) -> None:
        self.body = body
        self.conn = http.client.HTTPConnection(gw.host, gw.port, timeout=HANG_LIMIT)
        parts = urlsplit(url)
        self.conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
        self.conn.putheader("Content-Length", str(len(body)))
        self.conn.endheaders()
        self.conn.send(body[: len(body) // 2])

    def finish(self) -> tuple[int, bytes, float]:
        """Send the rest; (status, body, seconds until the answer)."""
        started = time.monotonic()
        try:
            try:
                self.conn.send(self.body[len(self.body) // 2 :])
            except OSError:
                pass  # answered early and closed; the answer is still there to read
            response = self.conn.getresponse()
            return response.status, response.read(), time.monotonic() - started
        finally:
            self.conn.close()


# -- boto3 threads ---------------------------------------------------------------------------


@dataclass
class Outcome:
    key: str
    md5: str
    seconds: float
    etag: str | None = None  # the upload succeeded
    error: tuple[int, str] | None = None  # an S3 error document: (status, code)
    exception: str | None = None  # anything else: a client-side failure


@dataclass
class Uploaders:
    """Threads uploading objects one after the other until stopped."""

    client: Any
    bucket: str
    count: int = 3
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for worker in range(self.count):
            thread = threading.Thread(target=self._run, args=(worker,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, worker: int) -> None:
        bodies = [os.urandom(size) for size in THREAD_SIZES]
        n = 0
        while not self.stop.is_set():
            body = bodies[(worker + n) % len(bodies)]
            key = f"chaos/{worker}-{n}"
            outcome = Outcome(key, hashlib.md5(body).hexdigest(), 0.0)
            started = time.monotonic()
            try:
                outcome.etag = self.client.put_object(Bucket=self.bucket, Key=key, Body=body)[
                    "ETag"
                ]
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                outcome.error = (status, exc.response.get("Error", {}).get("Code", ""))
            except Exception as exc:
                outcome.exception = f"{type(exc).__name__}: {exc}"
            outcome.seconds = time.monotonic() - started
            self.outcomes.append(outcome)
            n += 1

    def finish(self) -> list[Outcome]:
        self.stop.set()
        for thread in self.threads:
            thread.join(HANG_LIMIT + 15)
        assert not any(t.is_alive() for t in self.threads), "an upload hung"
        return self.outcomes


# -- the scenario --------------------------------------------------------------------------------


def put(s3: Any, bucket: str, key: str, body: bytes) -> tuple[str, str]:
    etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
    return etag, hashlib.md5(body).hexdigest()


def read_back(s3: Any, bucket: str, key: str) -> tuple[str, str]:
    response = s3.get_object(Bucket=bucket, Key=key)
    return response["ETag"], hashlib.md5(response["Body"].read()).hexdigest()


def run_scrub(peer: Peer) -> subprocess.CompletedProcess[str]:
    gw = peer.gateway
    cmd = [sys.executable, "-m", "gateway", "admin", "scrub", "--data-dir", str(gw.data_dir)]
    return subprocess.run(
        [*cmd, *peer.backend_args],
        cwd=REPO_ROOT,
        env=gw.environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_backend_killed_during_uploads(peer: Peer) -> None:
    gw, server = peer.gateway, peer.server
    pid = gw.pid
    s3 = boto3_client(gw)
    bucket = unique_bucket_name(f"failures-{peer.kind}")
    s3.create_bucket(Bucket=bucket)

    # 1. what must survive
    stored = {
        # Over --inline-threshold (64 KiB): a blob, unreadable while the backend is down.
        "small": put(s3, bucket, "small", os.urandom(100 * KiB)),
        # Within it: kept in the metadata store, readable through the outage.
        "inline": put(s3, bucket, "inline", os.urandom(10 * KiB)),
        "parts": put(s3, bucket, "parts", os.urandom(20 * MiB)),  # the backend's multipart
    }
    mp_parts = [os.urandom(5 * MiB), os.urandom(1 * MiB)]
    mp = s3.create_multipart_upload(Bucket=bucket, Key="multipart")["UploadId"]
    listed = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket=bucket, Key="multipart", UploadId=mp, PartNumber=n, Body=data
            )["ETag"],
        }
        for n, data in enumerate(mp_parts, start=1)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="multipart", UploadId=mp, MultipartUpload={"Parts": listed}
    )
    stored["multipart"] = read_back(s3, bucket, "multipart")
    pending_upload = s3.create_multipart_upload(Bucket=bucket, Key="open")["UploadId"]
    first_part = os.urandom(5 * MiB)
    first_etag = s3.upload_part(
        Bucket=bucket, Key="open", UploadId=pending_upload, PartNumber=1, Body=first_part
    )["ETag"]
    server.wait_durable()
    assert ready_status(gw) == 200

    # 2. uploads in flight
    held = [
        HeldUpload(gw, s3.generate_presigned_url("put_object", Params=params), os.urandom(size))
        for params, size in (
            ({"Bucket": bucket, "Key": "held-small"}, 3 * MiB),
            ({"Bucket": bucket, "Key": "held-large"}, 20 * MiB),
        )
    ]
    part_url = s3.generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": "open", "UploadId": pending_upload, "PartNumber": 2},
    )
    held.append(HeldUpload(gw, part_url, os.urandom(6 * MiB)))
    uploaders = Uploaders(boto3_client(gw, max_pool_connections=8), bucket)
    if not peer.loses_recent_writes:
        uploaders.start()
        wait_for(lambda: any(o.etag for o in uploaders.outcomes), "a first upload succeeds")
    time.sleep(0.5)  # the gateway is streaming the held halves into the backend

    # 3. the crash
    server.kill()
    if peer.loses_recent_writes:
        uploaders.start()
    held_answers = [h.finish() for h in held]

    # 4. while it is down
    wait_for(lambda: ready_status(gw) == 503, "/minio/health/ready answers 503")
    started = time.monotonic()
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="small")
    status = info.value.response["ResponseMetadata"]["HTTPStatusCode"]
    assert (status, info.value.response["Error"]["Code"]) in SERVER_ERRORS
    assert time.monotonic() - started < HANG_LIMIT
    assert read_back(s3, bucket, "inline") == stored["inline"]
    wait_for(lambda: sum(o.error is not None for o in uploaders.outcomes) >= 3, "uploads fail")
    outcomes = uploaders.finish()

    for status, body, seconds in held_answers:
        assert (status, error_code(body)) in SERVER_ERRORS, body
        assert seconds < HANG_LIMIT
    strays = [o for o in outcomes if o.exception or (o.error and o.error not in SERVER_ERRORS)]
    assert strays == [], "uploads that got no S3 error document"
    assert max(o.seconds for o in outcomes) < HANG_LIMIT
    assert any(o.error for o in outcomes)

    # 5. back up: the same gateway recovers
    server.start()
    wait_for(lambda: ready_status(gw) == 200, "/minio/health/ready answers 200 again")
    assert gw.pid == pid and gw.running
    stored["after"] = put(s3, bucket, "after", os.urandom(12 * MiB))
    second_part = os.urandom(2 * MiB)
    second_etag = s3.upload_part(
        Bucket=bucket, Key="open", UploadId=pending_upload, PartNumber=2, Body=second_part
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="open",
        UploadId=pending_upload,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": first_etag}, {"PartNumber": 2, "ETag": second_etag}]
        },
    )
    assert s3.get_object(Bucket=bucket, Key="open")["Body"].read() == first_part + second_part
    for key, expected in stored.items():
        assert read_back(s3, bucket, key) == expected, key
    for o in outcomes:
        if o.etag is not None:
            assert read_back(s3, bucket, o.key) == (o.etag, o.md5), o.key
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert not keys & {"held-small", "held-large"}  # failed uploads left no object

    # 6. metadata and backend agree
    scrub = run_scrub(peer)
    assert scrub.returncode == 0, scrub.stdout + scrub.stderr
    assert ", 0 missing" in scrub.stdout, scrub.stdout
    assert ", 0 orphans" in scrub.stdout, scrub.stdout


def test_scrub_reports_a_lost_blob(peer: Peer) -> None:
    """The scrub's exit status when a blob is really gone (deleted behind our back)."""
    s3 = boto3_client(peer.gateway)
    bucket = unique_bucket_name(f"lost-{peer.kind}")
    s3.create_bucket(Bucket=bucket)
    before = server_blobs(peer.server)
    # Over --inline-threshold, so that it is a blob.
    s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(100 * KiB))
    (lost,) = server_blobs(peer.server) - before
    clean = run_scrub(peer)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    delete_server_blob(peer.server, lost)
    broken = run_scrub(peer)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"missing blob {lost}" in broken.stdout
    assert ", 1 missing" in broken.stdout
    s3.delete_object(Bucket=bucket, Key="k")  # no version references it any more
    again = run_scrub(peer)
    assert again.returncode == 0, again.stdout + again.stderr


def server_blobs(server: SeaweedFS | Azurite) -> set[str]:
    """Names of the blobs on the server, as the gateway's backend wrote them."""
    if isinstance(server, SeaweedFS):
        client = server.client()
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET)
            return {o["Key"] for page in pages for o in page.get("Contents", [])}
        except ClientError as exc:
            # The backend creates its bucket at its first use, which may not have come yet
            # when this module's tests are spread over workers that each start a server.
            if client_error_code(exc) != "NoSuchBucket":
                raise
            return set()
        finally:
            client.close()
    from azure.core.exceptions import ResourceNotFoundError

    with _container(server) as container:
        try:
            return {b.name for b in container.list_blobs()}
        except ResourceNotFoundError:  # the backend creates its container at its first write
            return set()


def delete_server_blob(server: SeaweedFS | Azurite, name: str) -> None:
    if isinstance(server, SeaweedFS):
        client = server.client()
        try:
            client.delete_object(Bucket=S3_BUCKET, Key=name)
        finally:
            client.close()
        return
    with _container(server) as container:
        container.delete_blob(name)


def _container(server: Azurite) -> Any:
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_connection_string(server.connection_string, "kv-failures")
