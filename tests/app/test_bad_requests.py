"""Hostile and broken requests get the right S3 error, and nothing stored changes.

Requests are signed with botocore's signer (an independent SigV4 implementation) and sent
with http.client, so the tests control every byte: tampered signatures, skewed clocks,
malformed XML, entity expansion.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import urllib.parse
from typing import Any
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from lxml import etree

from tests.app.server import AppServer
from tests.app.test_buckets import code_of
from tests.support.clients import boto3_client


def send(
    gw: AppServer,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    sign: bool = True,
    secret: str | None = None,
    when: dt.datetime | None = None,
) -> tuple[int, dict[str, str], bytes]:
    url = gw.endpoint + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign:
        creds = Credentials(gw.access_key, secret or gw.secret_key)
        signer = S3SigV4Auth(creds, "s3", "us-east-1")
        req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        if when is not None:
            # botocore reads the clock through get_current_datetime; sign as if at `when`.
            naive = when.astimezone(dt.UTC).replace(tzinfo=None)
            with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
                signer.add_auth(req)
        else:
            signer.add_auth(req)
    prepared = req.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    conn: http.client.HTTPConnection
    if gw.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=gw.ssl_context)
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, target, body=body, headers=dict(prepared.headers.items()))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str:
    return str(etree.fromstring(body).findtext("Code"))


def test_anonymous_is_denied(gateway: AppServer, bucket: str) -> None:
    status, headers, body = send(gateway, "GET", f"/{bucket}", sign=False)
    assert status == 403 and error_code(body) == "AccessDenied"
    assert headers["x-amz-request-id"]
    doc = etree.fromstring(body)
    assert doc.findtext("RequestId") == headers["x-amz-request-id"]
    assert doc.findtext("Resource") == f"/{bucket}"


def test_wrong_secret_is_signature_mismatch(gateway: AppServer, bucket: str) -> None:
    status, _, body = send(gateway, "GET", f"/{bucket}", secret="wrong" * 8)
    assert status == 403 and error_code(body) == "SignatureDoesNotMatch"


def test_unknown_access_key(gateway: AppServer) -> None:
    s3 = boto3_client(gateway, access_key="AKIDOESNOTEXIST00000", secret_key="x" * 40)
    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert code_of(info) == "InvalidAccessKeyId"


def test_skewed_clock(gateway: AppServer, bucket: str) -> None:
    then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    status, _, body = send(gateway, "GET", f"/{bucket}", when=then)
    assert status == 403 and error_code(body) == "RequestTimeTooSkewed"


def test_payload_hash_mismatch_keeps_old_object(gateway: AppServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    url = f"{gateway.endpoint}/{bucket}/k"
    # botocore hashes the body it signs; sign one body and send another of equal length.
    req = AWSRequest(method="PUT", url=url, data=b"declared body")
    S3SigV4Auth(Credentials(gateway.access_key, gateway.secret_key), "s3", "us-east-1").add_auth(
        req
    )
    prepared = req.prepare()
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    conn = (
        http.client.HTTPSConnection(parts.hostname, parts.port, context=gateway.ssl_context)
        if gateway.scheme == "https"
        else http.client.HTTPConnection(parts.hostname, parts.port)
    )
    conn.request("PUT", parts.path, body=b"tampered body", headers=dict(prepared.headers.items()))
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 400 and error_code(body) == "XAmzContentSHA256Mismatch"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


@pytest.mark.parametrize(
    "payload",
    [
        b"<Delete><Object><Key>a</Key></Object>",  # truncated
        b"not xml at all",
        b"<Wrong><Object><Key>a</Key></Object></Wrong>",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Delete><Object><Key>&x;</Key></Object></Delete>",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;'
        b'&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<Delete><Object><Key>&c;</Key></Object></Delete>",
    ],
    ids=["truncated", "garbage", "wrong-root", "xxe", "entity-expansion"],
)
def test_malformed_delete_xml(gateway: AppServer, s3: Any, bucket: str, payload: bytes) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"keep me")
    status, _, body = send(gateway, "POST", f"/{bucket}?delete", body=payload)
    assert status == 400 and error_code(body) == "MalformedXML"
    assert s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"keep me"


def test_head_error_has_no_body(gateway: AppServer, bucket: str) -> None:
    status, headers, body = send(gateway, "HEAD", f"/{bucket}/missing")
    assert status == 404 and body == b""
    assert headers["x-amz-request-id"]


def test_users_are_isolated(gateway: AppServer, s3: Any, bucket: str) -> None:
    access, secret = gateway.create_user(f"u{bucket[-8:]}")
    other = boto3_client(gateway, access_key=access, secret_key=secret)
    with pytest.raises(ClientError) as info:
        other.list_objects_v2(Bucket=bucket)
    assert code_of(info) == "AccessDenied"
    with pytest.raises(ClientError) as info:
        other.put_object(Bucket=bucket, Key="intruder", Body=b"x")
    assert code_of(info) == "AccessDenied"
    mine = f"{bucket}-u"
    other.create_bucket(Bucket=mine)
    other.put_object(Bucket=mine, Key="k", Body=b"mine")
    assert [b["Name"] for b in other.list_buckets()["Buckets"]] == [mine]
    with pytest.raises(ClientError) as info:
        other.create_bucket(Bucket=bucket)
    assert code_of(info) == "BucketAlreadyExists"
    other.delete_object(Bucket=mine, Key="k")
    other.delete_bucket(Bucket=mine)


def test_bad_max_keys(gateway: AppServer, bucket: str) -> None:
    status, _, body = send(gateway, "GET", f"/{bucket}?list-type=2&max-keys=abc")
    assert status == 400 and error_code(body) == "InvalidArgument"


def test_bad_encoding_type(gateway: AppServer, bucket: str) -> None:
    status, _, body = send(gateway, "GET", f"/{bucket}?list-type=2&encoding-type=base64")
    assert status == 400 and error_code(body) == "InvalidArgument"
