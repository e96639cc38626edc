"""Presigned URLs used the way a browser or curl uses them: plain HTTP, no SDK.

boto3 signs (SigV4 with signature_version="s3v4", SigV2 with "s3"); http.client sends
exactly the headers we choose, since a stray Content-Type breaks a SigV2 PUT signature.
"""

from __future__ import annotations

import http.client
import os
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from lxml import etree

from tests.app.server import AppServer
from tests.support.clients import boto3_client

pytestmark = pytest.mark.all_backends

VERSIONS = {"v4": "s3v4", "v2": "s3"}


_SIGNERS: dict[tuple[str, str], Any] = {}


@pytest.fixture(params=list(VERSIONS), ids=list(VERSIONS))
def signer(request: pytest.FixtureRequest, gateway: AppServer) -> Any:
    """A boto3 client that presigns with SigV4 (v4) or SigV2 (v2), one per server (a
    botocore client takes longer to make than most of these tests take to run)."""
    key = (gateway.endpoint, str(request.param))  # not id(): a new server may reuse one
    if key not in _SIGNERS:
        _SIGNERS[key] = boto3_client(gateway, signature_version=VERSIONS[request.param])
    return _SIGNERS[key]


def send(
    gw: AppServer,
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    assert parts.hostname == gw.host and parts.port == gw.port, url
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            gw.host, gw.port, timeout=30, context=context or gw.ssl_context
        )
    else:
        conn = http.client.HTTPConnection(gw.host, gw.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def error_of(body: bytes) -> tuple[str, str]:
    root = etree.fromstring(body)
    assert root.tag == "Error", body
    return root.findtext("Code") or "", root.findtext("Message") or ""


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes.items():
        assert name in query, (name, url)
        query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def flip_last_char(value: str) -> str:
    return value[:-1] + ("A" if value[-1] != "A" else "B")


def test_presigned_get(gateway: AppServer, s3: Any, signer: Any, bucket: str) -> None:
    data = os.urandom(5000)
    key = "shared/report 2024 ü+%.bin"
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/x-report")
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300
    )
    status, headers, body = send(gateway, "GET", url)
    assert status == 200, body
    assert body == data
    assert headers["content-type"] == "application/x-report"
    assert headers["etag"] == s3.head_object(Bucket=bucket, Key=key)["ETag"]


def test_presigned_get_response_overrides(
    gateway: AppServer, s3: Any, signer: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="doc.bin", Body=b"pdf bytes")
    url = signer.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "doc.bin",
            "ResponseContentDisposition": 'attachment; filename="report.pdf"',
            "ResponseContentType": "application/pdf",
        },
        ExpiresIn=300,
    )
    status, headers, body = send(gateway, "GET", url)
    assert status == 200, body
    assert headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert headers["content-type"] == "application/pdf"


def test_presigned_put(gateway: AppServer, s3: Any, signer: Any, bucket: str) -> None:
    data = os.urandom(70_000)
    url = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "upload/via url.bin"}, ExpiresIn=300
    )
    status, _, body = send(gateway, "PUT", url, body=data)
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="upload/via url.bin")["Body"].read() == data


def test_presigned_get_expired(gateway: AppServer, s3: Any, signer: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="soon-gone", Body=b"x")
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "soon-gone"}, ExpiresIn=1
    )
    with gateway.clock.moved(2.2):
        status, _, body = send(gateway, "GET", url)
    assert status == 403, body
    assert error_of(body) == ("AccessDenied", "Request has expired")


def test_presigned_get_tampered(gateway: AppServer, s3: Any, signer: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret-a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="secret-b", Body=b"b")
    url = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "secret-a"}, ExpiresIn=300
    )
    query = dict(parse_qsl(urlsplit(url).query))
    signature_name = "X-Amz-Signature" if "X-Amz-Signature" in query else "Signature"

    bad_signature = with_query(url, **{signature_name: flip_last_char(query[signature_name])})
    other_key = url.replace("/secret-a?", "/secret-b?")
    assert other_key != url
    for tampered in (bad_signature, other_key):
        status, _, body = send(gateway, "GET", tampered)
        assert status == 403, (tampered, body)
        assert error_of(body)[0] == "SignatureDoesNotMatch", (tampered, body)

    # Extending the expiry is tampering too.
    if "X-Amz-Expires" in query:
        longer = with_query(url, **{"X-Amz-Expires": "3600"})
    else:
        longer = with_query(url, Expires=str(int(query["Expires"]) + 3600))
    status, _, body = send(gateway, "GET", longer)
    assert status == 403, body
    assert error_of(body)[0] == "SignatureDoesNotMatch", body


def test_operator_caps_presigned_lifetime(app_factory: Any) -> None:
    """--max-presigned-expiry reaches authentication: a longer-lived URL is refused."""
    server = app_factory(max_presigned_expiry=3600)
    client = boto3_client(server)
    client.create_bucket(Bucket="capped")
    client.put_object(Bucket="capped", Key="k", Body=b"x")
    for version in VERSIONS.values():
        presigner = boto3_client(server, signature_version=version)
        short = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": "capped", "Key": "k"}, ExpiresIn=600
        )
        assert send(server, "GET", short)[0] == 200
        long = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": "capped", "Key": "k"}, ExpiresIn=7200
        )
        status, _, body = send(server, "GET", long)
        assert status in (400, 403) and b"at most 3600 seconds" in body
