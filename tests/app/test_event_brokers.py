"""Bucket notifications end to end, on each broker target with the machine's real broker.

The real application (tests/app/server.py: SQLite, memory backend, its own dispatcher) is
given one target (a `--notify-target` setting, or `kloudvault admin target add` on its
store while it runs), boto3 configures a bucket's notifications with a prefix and suffix
filter, then writes: PUT, COPY, a multipart upload, tagging, deletions in a versioned
bucket, on keys the filter takes and keys it leaves out. The broker's own client
(tests/contract/target_factories.py), subscribed before the first write, consumes; each
record is compared whole with the document S3 would send for that request: its request
id, key (URL-encoded), size, ETag, version id, and a sequencer increasing per key. The
s3:TestEvent comes first, and nothing else arrives: once the outbox is empty every event
is on the broker, so a record for a filtered-out key would be among those received.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from events.targets.base import Message
from gateway import cli
from gateway.meta.outbox import outbox_of
from tests.app.server import AppServer
from tests.contract.target_factories import TARGET_KINDS, Consumer, Received, TargetKind
from tests.support.clients import boto3_client

TIMEOUT = 5.0  # the target's ?timeout=
WAIT = 30.0  # the longest a record may take to arrive (a loaded CI machine: retries)
PREFIX, SUFFIX = "in/", ".jpg"
EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:ObjectTagging:*"]
# How each kind's target is configured: both ways are covered, each broker once.
HOW = {"nats": "settings", "amqp": "admin", "mqtt": "admin", "redis": "settings"}


@dataclass(frozen=True)
class Want:
    """One record the test expects: what the request that caused it determines."""

    event: str  # without "s3:"
    key: str
    request_id: str
    version_id: str
    size: int | None = None
    etag: str | None = None


def etag_of(response: dict[str, Any]) -> str:
    return str(response["ETag"]).strip('"')


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


def unique(received: list[Received]) -> list[Received]:
    """Without repeats (at least once: a retried send may deliver twice), first kept."""
    first: dict[bytes, Received] = {}
    for r in received:
        first.setdefault(r.body, r)
    return list(first.values())


async def wait_for(consumer: Consumer, count: int, outbox_empty: Callable[[], bool]) -> list[Any]:
    """The distinct messages received, once there are `count` and the outbox is empty."""
    deadline = time.monotonic() + WAIT
    while True:
        got = unique(await consumer.poll())
        if len(got) >= count and await asyncio.to_thread(outbox_empty):
            # Every event is on the broker now: one more look catches any extra one.
            return unique(await consumer.poll())
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(got)} of {count} messages arrived: {got!r}")
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("broker", list(TARGET_KINDS), ids=[f"{k}-{HOW[k]}" for k in TARGET_KINDS])
def test_bucket_events_reach_the_broker(broker: str, tmp_path: Path, aio: Any) -> None:
    kind = TARGET_KINDS[broker]
    host, port = kind.reachable()
    run = secrets.token_hex(5)  # this run's subject, stream, exchange or topic
    name = f"e2e-{broker}"
    url = kind.target_url(run, host, port, TIMEOUT)
    by_settings = HOW[broker] == "settings"
    server = AppServer(
        tmp_path / "app", notify_target=(f"{name}={url}",) if by_settings else ()
    ).start()
    try:
        if not by_settings:  # on the store of the running gateway, as an operator would
            code = cli.main(
                ["admin", "target", "add", name, url, "--data-dir", str(server.data_dir)]
            )
            assert code == 0
        aio.run(scenario(kind, server, run, name))
    finally:
        server.stop()


async def scenario(kind: TargetKind, server: AppServer, run: str, name: str) -> None:
    s3 = boto3_client(server)
    outbox = outbox_of(server.services.meta)

    def outbox_empty() -> bool:
        return server.call(outbox.outbox_depth()) == (0, 0)

    async def call(method: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(getattr(s3, method), **kwargs)
        return result

    bucket = f"events-{run}"
    started = time.time()
    async with kind.consumer(run) as consumer:
        await call("create_bucket", Bucket=bucket)
        await call(
            "put_bucket_versioning", Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        arn = f"arn:kloudvault:sqs:{server.region}:000000000000:{name}"
        filters = [{"Name": "prefix", "Value": PREFIX}, {"Name": "suffix", "Value": SUFFIX}]
        configured = await call(
            "put_bucket_notification_configuration",
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "Id": "photos",
                        "QueueArn": arn,
                        "Events": EVENTS,
                        "Filter": {"Key": {"FilterRules": filters}},
                    }
                ]
            },
        )
        # The test event first: it is the one message until the writes begin.
        (test_event,) = await wait_for(consumer, 1, outbox_empty)

        want: list[Want] = []
        key = "in/été 1+1.jpg"  # URL-encoded in the record: in/%C3%A9t%C3%A9+1%2B1.jpg
        put = await call("put_object", Bucket=bucket, Key=key, Body=b"hello")
        want.append(
            Want("ObjectCreated:Put", key, request_id(put), put["VersionId"], 5, etag_of(put))
        )
        # Left out by the filter: the wrong suffix, the wrong prefix, whatever the event.
        for other in ("in/skip.png", "out/x.jpg"):
            await call("put_object", Bucket=bucket, Key=other, Body=b"no")
            await call(
                "copy_object", Bucket=bucket, Key=other + ".copy", CopySource=f"{bucket}/{other}"
            )
            await call("delete_object", Bucket=bucket, Key=other)

        copied = await call(
            "copy_object",
            Bucket=bucket,
            Key="in/copy.jpg",
            CopySource={"Bucket": bucket, "Key": key},
        )
        want.append(
            Want(
                "ObjectCreated:Copy",
                "in/copy.jpg",
                request_id(copied),
                copied["VersionId"],
                5,
                etag_of(copied["CopyObjectResult"]),
            )
        )

        upload = await call("create_multipart_upload", Bucket=bucket, Key="in/mp.jpg")
        part = await call(
            "upload_part",
            Bucket=bucket,
            Key="in/mp.jpg",
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=b"multipart",
        )
        done = await call(
            "complete_multipart_upload",
            Bucket=bucket,
            Key="in/mp.jpg",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        want.append(
            Want(
                "ObjectCreated:CompleteMultipartUpload",
                "in/mp.jpg",
                request_id(done),
                done["VersionId"],
                9,
                etag_of(done),
            )
        )

        tagged = await call(
            "put_object_tagging",
            Bucket=bucket,
            Key=key,
            Tagging={"TagSet": [{"Key": "k", "Value": "v"}]},
        )
        want.append(Want("ObjectTagging:Put", key, request_id(tagged), put["VersionId"]))
        untagged = await call("delete_object_tagging", Bucket=bucket, Key=key)
        want.append(Want("ObjectTagging:Delete", key, request_id(untagged), put["VersionId"]))

        marker = await call("delete_object", Bucket=bucket, Key=key)
        assert marker["DeleteMarker"] is True
        want.append(
            Want("ObjectRemoved:DeleteMarkerCreated", key, request_id(marker), marker["VersionId"])
        )
        removed = await call(
            "delete_object", Bucket=bucket, Key="in/copy.jpg", VersionId=copied["VersionId"]
        )
        want.append(
            Want("ObjectRemoved:Delete", "in/copy.jpg", request_id(removed), copied["VersionId"])
        )

        got = await wait_for(consumer, 1 + len(want), outbox_empty)
    ended = time.time()

    assert got[0] == test_event  # still the first
    assert_test_event(kind, run, test_event, bucket, request_id(configured))
    records = got[1:]
    assert len(records) == len(want), [r.body for r in records]
    # Keys are delivered independently; each key's events in the order they happened.
    by_key = {
        w.key: [
            r for r in records if decode(r)["Records"][0]["s3"]["object"]["key"] == quote(w.key)
        ]
        for w in want
    }
    sequencers = []
    for w in want:
        received = by_key[w.key].pop(0)
        document = decode(received)
        (record,) = document["Records"]
        sequencers.append((w.key, record["s3"]["object"]["sequencer"]))
        assert_record(record, w, bucket, started, ended)
        message = Message(
            received.body, "s3:" + w.event, bucket, w.key, f"{bucket}:{sequencers[-1][1]}"
        )
        assert received == kind.expect(run, message)  # routing, dedup id, broker promises
    for key in {k for k, _ in sequencers}:
        seqs = [s for k, s in sequencers if k == key]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (key, seqs)


def quote(key: str) -> str:
    return quote_plus(key, safe="/")


def decode(received: Received) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(received.body)
    return value


def assert_test_event(
    kind: TargetKind, run: str, received: Received, bucket: str, rid: str
) -> None:
    body = decode(received)
    moment = body.pop("Time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", moment)
    assert body == {
        "Service": "KloudVault",
        "Event": "s3:TestEvent",
        "Bucket": bucket,
        "RequestId": rid,
        "HostId": rid,
    }
    message = Message(received.body, "s3:TestEvent", bucket, "", received.event_id)
    assert received == kind.expect(run, message)


def assert_record(
    record: dict[str, Any], want: Want, bucket: str, started: float, ended: float
) -> None:
    got = copy.deepcopy(record)
    moment = got.pop("eventTime")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", moment)
    at = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    assert started - 1 <= at <= ended + 1
    sequencer = got["s3"]["object"].pop("sequencer")
    assert re.fullmatch(r"[0-9A-F]{16}", sequencer)
    principal = got["userIdentity"]["principalId"]
    assert principal and principal == got["s3"]["bucket"]["ownerIdentity"]["principalId"]
    obj: dict[str, Any] = {"key": quote(want.key)}
    if want.size is not None:
        obj |= {"size": want.size, "eTag": want.etag}
    obj["versionId"] = want.version_id
    assert got == {
        "eventVersion": "2.1",
        "eventSource": "kloudvault:s3",
        "awsRegion": "us-east-1",
        "eventName": want.event,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": want.request_id, "x-amz-id-2": want.request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "photos",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": principal},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }
