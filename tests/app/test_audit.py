"""--audit-log: one JSON record per request, allowed, denied, anonymous and presigned, and
never a secret or a usable signature in it; --access-log redacts presigned URLs.

Each test starts its own server writing to a file, and stops it to read the records (the
writer flushes on close).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.exceptions import ClientError

from auth.credentials import ROOT_USER
from tests.app.server import AppServer
from tests.support.clients import boto3_client

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FIELDS = {
    "time",
    "request_id",
    "account",
    "iam_user",
    "access_key_id",
    "auth_type",
    "source_ip",
    "method",
    "operation",
    "bucket",
    "key",
    "version_id",
    "status",
    "error_code",
    "bytes_in",
    "bytes_out",
    "duration_ms",
    "trace_id",  # null unless --otlp-endpoint
}


class Audited:
    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "audit.jsonl"
        self.server = AppServer(workdir / "gw", audit_log=str(self.path)).start()
        self.s3 = boto3_client(self.server)
        self.secrets = [self.server.secret_key]

    def records(self) -> list[dict[str, Any]]:
        """Every record so far (stops the server: closing flushes the writer)."""
        self.server.stop()
        text = self.path.read_text()
        for secret in self.secrets:
            assert secret not in text
        records = [json.loads(line) for line in text.splitlines()]
        for record in records:
            assert set(record) == FIELDS
            assert ISO_UTC.match(record["time"]), record["time"]
            assert record["source_ip"] == "127.0.0.1"
            assert record["duration_ms"] >= 0
        return records

    def other_account(self) -> tuple[str, Any]:
        name = f"acct{uuid.uuid4().hex[:10]}"
        access, secret = self.server.create_user(name)
        self.secrets.append(secret)
        return name, boto3_client(self.server, access_key=access, secret_key=secret)


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[Audited]:
    audited = Audited(tmp_path)
    yield audited
    audited.server.stop()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def only(records: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    (found,) = [r for r in records if match.items() <= r.items()]
    return found


def test_allowed_requests(audited: Audited) -> None:
    s3, server = audited.s3, audited.server
    s3.create_bucket(Bucket="audited")
    s3.put_bucket_versioning(Bucket="audited", VersioningConfiguration={"Status": "Enabled"})
    body = b"x" * 1000
    put = s3.put_object(Bucket="audited", Key="dir/a.txt", Body=body)
    got = s3.get_object(Bucket="audited", Key="dir/a.txt", Range="bytes=0-99")
    assert got["Body"].read() == body[:100]
    s3.head_object(Bucket="audited", Key="dir/a.txt", VersionId=put["VersionId"])
    records = audited.records()

    record = only(records, operation="PutObject")
    assert record["request_id"] == put["ResponseMetadata"]["RequestId"]
    assert (record["account"], record["iam_user"]) == (ROOT_USER, None)
    assert record["access_key_id"] == server.access_key
    assert record["auth_type"] == "REST-HEADER"
    assert (record["method"], record["bucket"], record["key"]) == ("PUT", "audited", "dir/a.txt")
    assert record["version_id"] == put["VersionId"]  # the version the write created
    assert (record["status"], record["error_code"]) == (200, None)
    assert (record["bytes_in"], record["bytes_out"]) == (len(body), 0)

    record = only(records, operation="GetObject")
    assert (record["status"], record["bytes_in"], record["bytes_out"]) == (206, 0, 100)
    record = only(records, operation="HeadObject")
    assert (record["version_id"], record["bytes_out"]) == (put["VersionId"], 0)
    assert only(records, operation="CreateBucket")["key"] is None
    assert len(records) == 5  # one per request, and none for anything else


def test_denied_request_of_another_account(audited: Audited) -> None:
    audited.s3.create_bucket(Bucket="private")
    name, other = audited.other_account()
    with pytest.raises(ClientError) as info:
        other.list_objects_v2(Bucket="private")
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        other.put_object(Bucket="private", Key="k", Body=b"12345")
    records = audited.records()

    listing = only(records, operation="ListObjectsV2")
    assert (listing["account"], listing["bucket"]) == (name, "private")
    assert listing["access_key_id"] != audited.server.access_key
    assert (listing["status"], listing["error_code"]) == (403, "AccessDenied")
    assert listing["bytes_out"] > 0  # the error document
    put = only(records, operation="PutObject")
    assert (put["status"], put["error_code"], put["key"]) == (403, "AccessDenied", "k")


def test_anonymous_request(audited: Audited) -> None:
    audited.s3.create_bucket(Bucket="closed")
    status, body = get(f"{audited.server.endpoint}/closed/secret.txt")
    assert status == 403 and b"AccessDenied" in body
    record = only(audited.records(), operation="GetObject")
    assert record["account"] is record["access_key_id"] is record["auth_type"] is None
    assert (record["bucket"], record["key"]) == ("closed", "secret.txt")
    assert (record["status"], record["error_code"]) == (403, "AccessDenied")


def test_refused_signature_records_the_claimed_key(audited: Audited) -> None:
    server = audited.server
    wrong = boto3_client(server, access_key=server.access_key, secret_key="W" * 40)
    with pytest.raises(ClientError):
        wrong.list_buckets()
    record = only(audited.records(), operation="ListBuckets")
    assert (record["account"], record["access_key_id"]) == (None, server.access_key)
    assert (record["status"], record["error_code"]) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_presigned_request_leaves_no_usable_url(
    audited: Audited, signature_version: str, caplog: pytest.LogCaptureFixture
) -> None:
    audited.s3.create_bucket(Bucket="shared")
    audited.s3.put_object(Bucket="shared", Key="a b.txt", Body=b"hello")
    signer = boto3_client(audited.server, signature_version=signature_version)
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": "shared", "Key": "a b.txt"}, ExpiresIn=300
    )
    query = dict(parse_qsl(urlsplit(url).query))
    signature = query.get("X-Amz-Signature") or query["Signature"]
    with caplog.at_level(logging.INFO, logger="kloudvault.access"):
        assert get(url) == (200, b"hello")
        records = audited.records()
    record = only(records, operation="GetObject", auth_type="REST-QUERY-STRING")
    assert (record["account"], record["access_key_id"]) == (ROOT_USER, audited.server.access_key)
    assert (record["key"], record["status"], record["bytes_out"]) == ("a b.txt", 200, 5)
    assert signature not in audited.path.read_text()
    # The access log (on in every AppServer) names the request with its signature redacted.
    (line,) = [r.getMessage() for r in caplog.records if "shared/a%20b.txt?" in r.getMessage()]
    assert signature not in line and "Signature=REDACTED" in line
    if "X-Amz-Credential" in query:
        assert query["X-Amz-Credential"] not in line and "X-Amz-Credential=REDACTED" in line


def test_health_probes_are_not_audited(audited: Audited) -> None:
    assert get(f"{audited.server.endpoint}/minio/health/live")[0] == 200
    assert get(f"{audited.server.endpoint}/minio/health/ready")[0] == 200
    assert audited.records() == []
