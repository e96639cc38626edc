"""Put/GetBucketNotificationConfiguration and the events of each write, in process: the
real app (SQLite, memory backend), its dispatcher and a webhook receiver on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config
from lxml import etree

from auth.credentials import account_id
from gateway.meta.outbox import outbox_of
from lifecycle.worker import LifecycleWorker
from tests.app.client import SignedClient, signed_client
from tests.app.test_post_object import body_of
from tests.support.ports import free_port
from tests.support.tus import OFFSET_TYPE, TUS, creation_url, send
from tests.support.webhook import WebhookReceiver

SECRET = "webhook-secret"
HOOK = "arn:kloudvault:sqs:us-east-1:000000000000:hook"
DOWN = "arn:kloudvault:sns:us-east-1:000000000000:down"


def rule(
    arn: str,
    *events: str,
    prefix: str | None = None,
    suffix: str | None = None,
    kind: str = "Queue",
    rule_id: str | None = None,
) -> str:
    parts = [f"<Id>{rule_id}</Id>" if rule_id else "", f"<{kind}>{arn}</{kind}>"]
    parts += [f"<Event>{e}</Event>" for e in events]
    filters = [(n, v) for n, v in (("prefix", prefix), ("suffix", suffix)) if v is not None]
    if filters:
        fr = "".join(
            f"<FilterRule><Name>{n}</Name><Value>{v}</Value></FilterRule>" for n, v in filters
        )
        parts.append(f"<Filter><S3Key>{fr}</S3Key></Filter>")
    return f"<{kind}Configuration>{''.join(parts)}</{kind}Configuration>"


def configuration(*rules: str) -> bytes:
    root = 'NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    return f"<{root}>{''.join(rules)}</NotificationConfiguration>".encode()


@dataclass
class Env:
    client: SignedClient
    hook: WebhookReceiver
    aio: asyncio.Runner

    def run(self, coro: Any) -> Any:
        return self.aio.run(coro)

    def call(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Any:
        return self.aio.run(self.client.request(method, path, body=body, headers=headers))


@pytest.fixture
def env(tmp_path: Path, aio: asyncio.Runner) -> Iterator[Env]:
    hook = aio.run(WebhookReceiver(secret=SECRET).start())
    manager = signed_client(
        tmp_path / "app",
        notify_target=(f"hook={hook.url}", f"down=http://127.0.0.1:{free_port()}/"),
        notify_secret=SECRET,
        notify_backoff=3600.0,  # a failed event stays put for the test's lifetime
    )
    client = aio.run(manager.__aenter__())
    try:
        yield Env(client, hook, aio)
    finally:
        aio.run(manager.__aexit__(None, None, None))
        aio.run(hook.stop())


def test_put_get_notification_configuration_and_test_event(env: Env) -> None:
    assert env.call("PUT", "/nbk").status == 200
    empty = env.call("GET", "/nbk?notification")  # none yet: an empty document, no error
    assert empty.status == 200 and len(etree.fromstring(empty.body)) == 0
    body = configuration(
        rule(HOOK, "s3:ObjectCreated:*", prefix="in/", suffix=".jpg", rule_id="images"),
        rule(DOWN, "s3:ObjectRemoved:Delete", kind="Topic"),
    )
    assert env.call("PUT", "/nbk?notification", body).status == 200
    got = etree.fromstring(env.call("GET", "/nbk?notification").body)
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert got.findtext("s3:QueueConfiguration/s3:Id", namespaces=ns) == "images"
    assert got.findtext("s3:QueueConfiguration/s3:Queue", namespaces=ns) == HOOK
    assert got.findtext("s3:TopicConfiguration/s3:Topic", namespaces=ns) == DOWN
    assert got.findtext("s3:TopicConfiguration/s3:Id", namespaces=ns)  # generated
    names = [r.findtext("s3:Name", namespaces=ns) for r in got.iterfind(".//s3:FilterRule", ns)]
    assert names == ["prefix", "suffix"]

    async def test_event() -> dict[str, Any]:
        async with asyncio.timeout(5):
            while not env.hook.received:
                await asyncio.sleep(0.01)
        return env.hook.received[0].body

    sent = env.run(test_event())
    assert sent["Event"] == "s3:TestEvent" and sent["Bucket"] == "nbk"
    assert env.hook.bad_signatures == 0


@pytest.mark.parametrize(
    ("rules", "argument"),
    [
        ((rule("arn:kloudvault:sqs:us-east-1:0:nobody", "s3:ObjectCreated:*"),), ":nobody"),
        ((rule(HOOK, "s3:ObjectCreated:Nope"),), "s3:ObjectCreated:Nope"),
        ((rule(HOOK, "s3:ObjectRestore:*"),), "s3:ObjectRestore:*"),
        ((rule(HOOK.replace(":sqs:", ":sns:"), "s3:ObjectCreated:*"),), None),  # Queue needs sqs
        (
            (
                rule(HOOK, "s3:ObjectCreated:*", prefix="a/"),
                rule(DOWN, "s3:ObjectCreated:Put", prefix="a/b", kind="Topic"),
            ),
            None,
        ),
        (
            (
                rule(HOOK, "s3:ObjectCreated:*", rule_id="x"),
                rule(DOWN, "s3:ObjectRemoved:*", rule_id="x", kind="Topic"),
            ),
            "x",
        ),
    ],
    ids=["unknown-target", "bad-event", "unsupported-event", "wrong-service", "overlap", "same-id"],
)
def test_put_notification_configuration_invalid(
    env: Env, rules: tuple[str, ...], argument: str | None
) -> None:
    assert env.call("PUT", "/vbk").status == 200
    reply = env.call("PUT", "/vbk?notification", configuration(*rules))
    assert reply.status == 400 and reply.error_code == "InvalidArgument", reply.body
    error = etree.fromstring(reply.body)
    if argument is None:  # refused for the overlap or the service, not for the target
        assert "Unable to validate" not in str(error.findtext("Message"))
    else:
        found = f"{error.findtext('ArgumentName')} {error.findtext('ArgumentValue')}"
        assert argument in found
    got = env.call("GET", "/vbk?notification")
    assert len(etree.fromstring(got.body)) == 0  # nothing stored


def test_put_notification_configuration_disjoint_filters_accepted(env: Env) -> None:
    """Same event type, but no key can match both: accepted (S3 does too)."""
    body = configuration(
        rule(HOOK, "s3:ObjectCreated:*", prefix="a/"),
        rule(HOOK, "s3:ObjectCreated:Put", prefix="b/"),
        rule(HOOK, "s3:ObjectCreated:Put", prefix="c/", suffix=".png"),
        rule(DOWN, "s3:ObjectCreated:Put", prefix="c/", suffix=".jpg", kind="Topic"),
    )
    assert env.call("PUT", "/dbk").status == 200
    assert env.call("PUT", "/dbk?notification", body).status == 200


def test_events_of_every_write_reach_the_webhook(env: Env) -> None:
    assert env.call("PUT", "/ebk").status == 200
    all_events = (
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
        "s3:ObjectTagging:*",
        "s3:ObjectAcl:Put",
    )
    body = configuration(rule(HOOK, *all_events, prefix="docs/", rule_id="docs"))
    assert env.call("PUT", "/ebk?notification", body).status == 200
    assert env.call("PUT", "/ebk/docs/a%20b.txt", b"hello").status == 200
    assert env.call("PUT", "/ebk/other/skipped.txt", b"x").status == 200  # filtered out
    tagging = b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
    assert env.call("PUT", "/ebk/docs/a%20b.txt?tagging", tagging).status == 200
    assert env.call("DELETE", "/ebk/docs/a%20b.txt?tagging").status == 204
    assert (
        env.call("PUT", "/ebk/docs/a%20b.txt?acl", headers={"x-amz-acl": "public-read"}).status
        == 200
    )
    copied = env.call("PUT", "/ebk/docs/copy", headers={"x-amz-copy-source": "/ebk/docs/a%20b.txt"})
    assert copied.status == 200
    created = env.call("POST", "/ebk/docs/mp?uploads")
    upload_id = etree.fromstring(created.body).findtext("{*}UploadId")
    part = env.call("PUT", f"/ebk/docs/mp?partNumber=1&uploadId={upload_id}", b"part")
    etag = part.headers["ETag"]
    complete = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
        "</CompleteMultipartUpload>"
    ).encode()
    assert env.call("POST", f"/ebk/docs/mp?uploadId={upload_id}", complete).status == 200
    assert env.call("DELETE", "/ebk/docs/a%20b.txt").status == 204
    assert env.call("DELETE", "/ebk/docs/never-existed").status == 204  # removes nothing
    records = env.run(env.hook.wait_for(7))
    assert len(records) == 7

    def names(key: str) -> list[str]:
        return [r["eventName"] for r in records if r["s3"]["object"]["key"] == key]

    # In order per key; keys are independent of each other.
    assert names("docs/a+b.txt") == [
        "ObjectCreated:Put",
        "ObjectTagging:Put",
        "ObjectTagging:Delete",
        "ObjectAcl:Put",
        "ObjectRemoved:Delete",
    ]
    assert names("docs/copy") == ["ObjectCreated:Copy"]
    assert names("docs/mp") == ["ObjectCreated:CompleteMultipartUpload"]
    first = records[0]
    assert first["eventVersion"] == "2.1" and first["awsRegion"] == "us-east-1"
    assert first["s3"]["configurationId"] == "docs"
    assert first["s3"]["bucket"]["name"] == "ebk"
    assert first["s3"]["object"]["key"] == "docs/a+b.txt"
    assert first["s3"]["object"]["size"] == 5
    assert first["s3"]["object"]["eTag"] == "5d41402abc4b2a76b9719d911017c592"
    assert "versionId" not in first["s3"]["object"]  # unversioned bucket
    assert first["requestParameters"]["sourceIPAddress"] == "127.0.0.1"
    assert first["responseElements"]["x-amz-request-id"]
    # One key's events carry increasing sequencers.
    key_seqs = [
        r["s3"]["object"]["sequencer"]
        for r in records
        if r["s3"]["object"]["key"] == "docs/a+b.txt"
    ]
    assert key_seqs == sorted(key_seqs) and len(set(key_seqs)) == len(key_seqs) == 5
    assert env.hook.bad_signatures == 0
    assert not any("other/" in r["s3"]["object"]["key"] for r in records)


def test_versioned_delete_marker_event(env: Env) -> None:
    assert env.call("PUT", "/vvk").status == 200
    versioning = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    assert env.call("PUT", "/vvk?versioning", versioning).status == 200
    body = configuration(rule(HOOK, "s3:ObjectCreated:Put", "s3:ObjectRemoved:*"))
    assert env.call("PUT", "/vvk?notification", body).status == 200
    put = env.call("PUT", "/vvk/k", b"v1")
    assert env.call("DELETE", "/vvk/k").status == 204
    records = env.run(env.hook.wait_for(2))
    assert [r["eventName"] for r in records] == [
        "ObjectCreated:Put",
        "ObjectRemoved:DeleteMarkerCreated",
    ]
    assert records[0]["s3"]["object"]["versionId"] == put.headers["x-amz-version-id"]
    assert records[1]["s3"]["object"]["versionId"] != records[0]["s3"]["object"]["versionId"]


def test_outbox_row_commits_with_the_change_and_not_without(env: Env) -> None:
    """A target that is down keeps the rows: one per acknowledged write, none for a
    refused one."""
    outbox = outbox_of(env.client.services.meta)
    assert env.call("PUT", "/obk").status == 200
    assert (
        env.call(
            "PUT",
            "/obk?notification",
            configuration(rule(DOWN, "s3:ObjectCreated:*", kind="Topic")),
        ).status
        == 200
    )
    assert env.call("PUT", "/obk/k", b"1").status == 200
    refused = env.call("PUT", "/obk/k", b"2", {"If-None-Match": "*"})
    assert refused.status == 412
    missing = env.call("PUT", "/obk/k2", b"3", {"If-Match": '"0123"'})
    assert missing.status in (404, 412)

    async def rows() -> list[Any]:
        await asyncio.sleep(0)
        return [e for e in await outbox.list_events() if e.event_name != "s3:TestEvent"]

    pending = env.run(rows())
    assert [(e.key, e.event_name, e.target) for e in pending] == [
        ("k", "s3:ObjectCreated:Put", "down")
    ]
    assert pending[0].etag == "c4ca4238a0b923820dcc509a6f75849b"


def test_lifecycle_expiration_event(env: Env) -> None:
    assert env.call("PUT", "/lck").status == 200
    lifecycle = (
        b"<LifecycleConfiguration><Rule><ID>old</ID><Filter><Prefix>tmp/</Prefix></Filter>"
        b"<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        b"</LifecycleConfiguration>"
    )
    assert env.call("PUT", "/lck?lifecycle", lifecycle).status == 200
    body = configuration(rule(HOOK, "s3:LifecycleExpiration:*", rule_id="lc"))
    assert env.call("PUT", "/lck?notification", body).status == 200
    assert env.call("PUT", "/lck/tmp/x", b"x").status == 200
    services = env.client.services
    worker = LifecycleWorker(
        services.meta,
        services.lifecycle_timing,
        clock=lambda: time.time() + 3 * 86400,
        notifications=services.notifications,
        events_queued=services.events_queued,
    )
    report = env.run(worker.run_once())
    assert report.total("done") == 1
    (record,) = env.run(env.hook.wait_for(1))
    assert record["eventName"] == "LifecycleExpiration:Delete"
    assert record["s3"]["object"]["key"] == "tmp/x"
    assert record["userIdentity"]["principalId"] == "kloudvault:lifecycle"
    # The bucket's region and owner, as in a request's events (they were once left empty).
    assert record["awsRegion"] == "us-east-1"
    bucket = env.run(services.meta.get_bucket("lck"))
    assert bucket is not None
    assert record["s3"]["bucket"]["ownerIdentity"] == {"principalId": account_id(bucket.owner)}


def test_delete_objects_events_and_removing_the_configuration(env: Env) -> None:
    assert env.call("PUT", "/dok").status == 200
    body = configuration(rule(HOOK, "s3:ObjectRemoved:*"))
    assert env.call("PUT", "/dok?notification", body).status == 200
    for key in ("a", "b"):
        assert env.call("PUT", f"/dok/{key}", b"x").status == 200
    delete = b"<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object></Delete>"
    assert env.call("POST", "/dok?delete", delete).status == 200
    records = env.run(env.hook.wait_for(2))
    assert sorted((r["eventName"], r["s3"]["object"]["key"]) for r in records) == [
        ("ObjectRemoved:Delete", "a"),
        ("ObjectRemoved:Delete", "b"),
    ]
    # An empty configuration removes it: the next delete queues nothing.
    assert env.call("PUT", "/dok?notification", configuration()).status == 200
    assert b"QueueConfiguration" not in env.call("GET", "/dok?notification").body
    assert env.call("PUT", "/dok/c", b"x").status == 200
    assert env.call("DELETE", "/dok/c").status == 204
    outbox = outbox_of(env.client.services.meta)
    # Not queued: neither waiting in the outbox nor (row gone once sent) delivered.
    assert [e for e in env.run(outbox.list_events()) if e.bucket == "dok"] == []
    assert [r for r in env.hook.records() if r["s3"]["object"]["key"] == "c"] == []


def test_post_object_event(env: Env) -> None:
    """A browser form upload (POST Object) is s3:ObjectCreated:Post."""
    assert env.call("PUT", "/pok").status == 200
    body = configuration(rule(HOOK, "s3:ObjectCreated:Post"))
    assert env.call("PUT", "/pok?notification", body).status == 200
    client = env.client
    endpoint = str(client.client.make_url("/")).rstrip("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=client.access_key,
        aws_secret_access_key=client.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    form = s3.generate_presigned_post("pok", "up/form.txt", ExpiresIn=600)
    data, headers = body_of(list(form["fields"].items()), b"posted")

    async def upload() -> int:
        async with client.client.session.post(form["url"], data=data, headers=headers) as resp:
            return resp.status

    assert env.run(upload()) == 204
    (record,) = env.run(env.hook.wait_for(1))
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"] == "up/form.txt"
    assert record["s3"]["object"]["size"] == 6


def test_tus_upload_event(env: Env) -> None:
    """A finished tus upload is a completed multipart upload to the bucket's rules."""
    assert env.call("PUT", "/tusk").status == 200
    body = configuration(rule(HOOK, "s3:ObjectCreated:*"))
    assert env.call("PUT", "/tusk?notification", body).status == 200
    client = env.client
    endpoint = str(client.client.make_url("/")).rstrip("/")
    url = creation_url(endpoint, (client.access_key, client.secret_key), "tusk", "up/t.bin")
    headers = {**TUS, **OFFSET_TYPE, "Upload-Length": "5"}
    answer = env.run(asyncio.to_thread(send, "POST", url, headers, b"hello"))
    assert answer.status == 201, answer.body
    (record,) = env.run(env.hook.wait_for(1))
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert record["s3"]["object"]["key"] == "up/t.bin"
    assert record["s3"]["object"]["size"] == 5
    assert record["userIdentity"]["principalId"] == account_id("root")
