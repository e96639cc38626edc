"""The console's later operations on the real application, each a presigned S3 request
that dispatch authorizes as the session's key: object versions, rename by copy (its
source header signed into the URL), and bucket settings (versioning, CORS refused in
words, a public prefix and the policy status)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from tests.app.server import AppServer
from tests.app.test_console import Answer, Console, clock, send, server, signed_in

__all__ = ["clock", "server"]  # fixtures, imported for pytest


def _s3(console: Console, operation: str, data: bytes | None = None, **fields: Any) -> Answer:
    """Send the request with the headers the server signed, as api.js does."""
    answer = console.call("POST", "/presign", {"operation": operation, **fields})
    assert answer.status == 200, answer.body
    signed = answer.json()
    return send(console.server, signed["method"], signed["url"], data, signed["headers"])


def _bucket(console: Console) -> str:
    bucket = f"more-{uuid.uuid4().hex[:8]}"
    assert _s3(console, "CreateBucket", bucket=bucket).status == 200
    return bucket


def test_rename_copies_with_a_signed_source_then_deletes(server: AppServer) -> None:
    root = signed_in(server)
    bucket = _bucket(root)
    assert _s3(root, "PutObject", b"moved", bucket=bucket, key="a b.txt").status == 200
    source = {"x-amz-copy-source": f"/{bucket}/a%20b.txt"}
    copied = _s3(root, "CopyObject", bucket=bucket, key="dir/c.txt", headers=source)
    assert copied.status == 200 and b"<CopyObjectResult" in copied.body
    assert _s3(root, "DeleteObject", bucket=bucket, key="a b.txt").status == 204
    assert _s3(root, "GetObject", bucket=bucket, key="dir/c.txt").body == b"moved"

    # The URL is bound to the source it was signed for.
    answer = root.call(
        "POST",
        "/presign",
        {"operation": "CopyObject", "bucket": bucket, "key": "x", "headers": source},
    ).json()
    other = {"x-amz-copy-source": f"/{bucket}/dir/c.txt"}
    forged = send(server, answer["method"], answer["url"], None, other)
    assert forged.status == 403 and b"SignatureDoesNotMatch" in forged.body
    unsigned = root.call(
        "POST",
        "/presign",
        {"operation": "PutObject", "bucket": bucket, "key": "y", "headers": source},
    )
    assert (unsigned.status, unsigned.code) == (400, "InvalidArgument")


def test_versions_are_listed_and_deleted_one_by_one(server: AppServer) -> None:
    root = signed_in(server)
    bucket = _bucket(root)
    enabled = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    assert _s3(root, "PutBucketVersioning", enabled, bucket=bucket).status == 200
    for body in (b"one", b"two"):
        assert _s3(root, "PutObject", body, bucket=bucket, key="k").status == 200
    listing = _s3(root, "ListObjectVersions", bucket=bucket, params={"prefix": "k"})
    versions = re.findall(rb"<VersionId>([^<]+)</VersionId>", listing.body)
    assert len(versions) == 2
    oldest = versions[1].decode()
    old = _s3(root, "GetObject", bucket=bucket, key="k", params={"versionId": oldest})
    assert old.body == b"one"
    gone = _s3(root, "DeleteObject", bucket=bucket, key="k", params={"versionId": oldest})
    assert gone.status == 204
    listing = _s3(root, "ListObjectVersions", bucket=bucket, params={"prefix": "k"})
    assert re.findall(rb"<VersionId>([^<]+)</VersionId>", listing.body) == [versions[0]]


def test_bucket_settings_errors_and_a_public_prefix(server: AppServer) -> None:
    root = signed_in(server)
    bucket = _bucket(root)
    bad = _s3(root, "PutBucketCors", b"<CORSConfiguration><CORSRule/>", bucket=bucket)
    assert bad.status == 400 and b"<Message>" in bad.body
    assert _s3(root, "GetBucketPolicyStatus", bucket=bucket).status in (200, 404)

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ConsolePublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/pub/*",
            }
        ],
    }
    body = json.dumps(policy).encode()
    assert _s3(root, "PutBucketPolicy", body, bucket=bucket).status == 204
    status = _s3(root, "GetBucketPolicyStatus", bucket=bucket)
    assert b"<IsPublic>true</IsPublic>" in status.body
    assert _s3(root, "PutObject", b"open", bucket=bucket, key="pub/a").status == 200
    assert _s3(root, "PutObject", b"shut", bucket=bucket, key="priv/a").status == 200
    assert send(server, "GET", f"/{bucket}/pub/a").body == b"open"
    assert send(server, "GET", f"/{bucket}/priv/a").status == 403
