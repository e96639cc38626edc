"""Bucket replication to a plain S3 server (the session's SeaweedFS): what a target that is
not a KloudVault gets. Puts, an overwrite, metadata, tags, a prefix filter, a 50 MB
multipart object and delete markers; bytes, ETags, metadata and tags compared (the version
ids are the target's own there)."""

from __future__ import annotations

import hashlib
import secrets
import time

import pytest
from botocore.exceptions import ClientError

from gateway.meta.outbox import outbox_of
from gateway.meta.replication import ReplicationTarget
from gateway.replication.targets import sealed_as
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.app.test_replication import FAST, replicate, settle, versioned_bucket
from tests.support.clients import boto3_client
from tests.support.seaweedfs import SeaweedFS, session_seaweedfs

WEED_BUCKET = "kv-replication"
MiB = 1024 * 1024


@pytest.fixture
def weed(request: pytest.FixtureRequest) -> SeaweedFS:
    weed = session_seaweedfs(request.config)
    client = weed.client()
    try:
        client.create_bucket(Bucket=WEED_BUCKET)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    return weed


def to_weed(source: AppServer, weed: SeaweedFS) -> None:
    sealed = source.services.credentials.sealer.seal(sealed_as("weed"), weed.secret_key)
    target = ReplicationTarget(
        "weed", weed.endpoint, weed.access_key, sealed, weed.region, buckets=(WEED_BUCKET,)
    )
    source.call(outbox_of(source.services.meta).put_replication_target(target, time.time()))


def test_replicate_to_seaweedfs(app_factory: AppFactory, weed: SeaweedFS) -> None:
    source = app_factory(**FAST)
    to_weed(source, weed)
    src, dst = boto3_client(source), weed.client()
    bucket = versioned_bucket(src)
    prefix = f"t{secrets.token_hex(4)}/"
    replicate(src, bucket, WEED_BUCKET, prefix=prefix)
    src.put_object(Bucket=bucket, Key=prefix + "a", Body=b"first")
    src.put_object(Bucket=bucket, Key=prefix + "a", Body=b"second", Metadata={"m": "v"},
                   ContentType="text/csv", Tagging="t=1")  # fmt: skip
    src.put_object(Bucket=bucket, Key="elsewhere", Body=b"not covered")
    src.put_object(Bucket=bucket, Key=prefix + "gone", Body=b"deleted next")
    src.delete_object(Bucket=bucket, Key=prefix + "gone")
    big = secrets.token_bytes(50 * MiB)
    upload = src.create_multipart_upload(Bucket=bucket, Key=prefix + "big")
    parts = []
    for n, start in enumerate(range(0, len(big), 8 * MiB), start=1):
        chunk = big[start : start + 8 * MiB]
        answer = src.upload_part(Bucket=bucket, Key=prefix + "big", PartNumber=n,
                                 UploadId=upload["UploadId"], Body=chunk)  # fmt: skip
        parts.append({"PartNumber": n, "ETag": answer["ETag"]})
    src.complete_multipart_upload(Bucket=bucket, Key=prefix + "big", UploadId=upload["UploadId"],
                                  MultipartUpload={"Parts": parts})  # fmt: skip
    src.put_object_tagging(
        Bucket=bucket, Key=prefix + "a", Tagging={"TagSet": [{"Key": "t", "Value": "2"}]}
    )
    settle(source, timeout=60)
    for key in ("a", "big"):
        mine, theirs = (c.head_object(Bucket=b, Key=prefix + key)
                        for c, b in ((src, bucket), (dst, WEED_BUCKET)))  # fmt: skip
        assert theirs["ETag"] == mine["ETag"]
        assert theirs["Metadata"] == mine["Metadata"]
        assert mine["ReplicationStatus"] == "COMPLETED"
    got = dst.get_object(Bucket=WEED_BUCKET, Key=prefix + "a")
    assert (got["Body"].read(), got["ContentType"]) == (b"second", "text/csv")
    body = dst.get_object(Bucket=WEED_BUCKET, Key=prefix + "big")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert dst.get_object_tagging(Bucket=WEED_BUCKET, Key=prefix + "a")["TagSet"] == [
        {"Key": "t", "Value": "2"}
    ]
    with pytest.raises(ClientError):  # the delete marker reached it: the key is gone there
        dst.head_object(Bucket=WEED_BUCKET, Key=prefix + "gone")
    with pytest.raises(ClientError):
        dst.head_object(Bucket=WEED_BUCKET, Key="elsewhere")


def test_delete_marker_not_replicated_to_seaweedfs(
    app_factory: AppFactory, weed: SeaweedFS
) -> None:
    source = app_factory(**FAST)
    to_weed(source, weed)
    src, dst = boto3_client(source), weed.client()
    bucket = versioned_bucket(src)
    prefix = f"t{secrets.token_hex(4)}/"
    replicate(src, bucket, WEED_BUCKET, prefix=prefix, markers=False)
    src.put_object(Bucket=bucket, Key=prefix + "stays", Body=b"here")
    src.delete_object(Bucket=bucket, Key=prefix + "stays")
    settle(source)
    assert dst.get_object(Bucket=WEED_BUCKET, Key=prefix + "stays")["Body"].read() == b"here"
