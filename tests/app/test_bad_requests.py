"""Hostile and broken requests get the right S3 error, and nothing stored changes.

Requests go through aiohttp's test client to a fresh app (tests/app/client.py), signed with
botocore's signer (an independent SigV4 implementation), so the tests control every byte:
tampered signatures, skewed clocks, mismatched payloads, malformed XML, entity expansion.
What needs an SDK (its error parsing, a second user's keys) uses boto3 on the shared server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lxml import etree

from tests.app.client import SignedClient
from tests.app.server import AppServer
from tests.app.test_buckets import code_of
from tests.support.clients import boto3_client

BUCKET = "bad-requests"


@pytest.fixture
def client(app_client: SignedClient, aio: asyncio.Runner) -> SignedClient:
    """The test client on a fresh app that has one empty bucket, BUCKET."""
    reply = aio.run(app_client.request("PUT", f"/{BUCKET}"))
    assert reply.status == 200, reply.body
    return app_client


def test_anonymous_is_denied(client: SignedClient, aio: asyncio.Runner) -> None:
    reply = aio.run(client.request("GET", f"/{BUCKET}", sign=False))
    assert reply.status == 403 and reply.error_code == "AccessDenied"
    assert reply.headers["x-amz-request-id"]
    doc = etree.fromstring(reply.body)
    assert doc.findtext("RequestId") == reply.headers["x-amz-request-id"]
    assert doc.findtext("Resource") == f"/{BUCKET}"


def test_wrong_secret_is_signature_mismatch(client: SignedClient, aio: asyncio.Runner) -> None:
    reply = aio.run(client.request("GET", f"/{BUCKET}", secret="wrong" * 8))
    assert reply.status == 403 and reply.error_code == "SignatureDoesNotMatch"


def test_unknown_access_key(gateway: AppServer) -> None:
    s3 = boto3_client(gateway, access_key="AKIDOESNOTEXIST00000", secret_key="x" * 40)
    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert code_of(info) == "InvalidAccessKeyId"


def test_skewed_clock(client: SignedClient, aio: asyncio.Runner) -> None:
    then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    reply = aio.run(client.request("GET", f"/{BUCKET}", when=then))
    assert reply.status == 403 and reply.error_code == "RequestTimeTooSkewed"


# Small, and large enough that the SHA-256 runs in worker threads (gateway.hashing).
@pytest.mark.parametrize("size", [13, 3 * 1024 * 1024 + 5])
def test_payload_hash_mismatch_keeps_old_object(
    client: SignedClient, aio: asyncio.Runner, size: int
) -> None:
    declared = bytes(size)
    tampered = declared[:-1] + b"x"  # the last byte differs: found only at the very end

    async def body() -> None:
        await client.request("PUT", f"/{BUCKET}/k", body=b"original")
        # Sign one body and send another of equal length.
        reply = await client.request("PUT", f"/{BUCKET}/k", body=tampered, signed_body=declared)
        assert reply.status == 400 and reply.error_code == "XAmzContentSHA256Mismatch"
        assert (await client.request("GET", f"/{BUCKET}/k")).body == b"original"
        reply = await client.request("PUT", f"/{BUCKET}/k", body=declared)
        assert reply.status == 200
        assert (await client.request("GET", f"/{BUCKET}/k")).body == declared

    aio.run(body())


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
def test_malformed_delete_xml(client: SignedClient, aio: asyncio.Runner, payload: bytes) -> None:
    async def body() -> None:
        await client.request("PUT", f"/{BUCKET}/a", body=b"keep me")
        reply = await client.request("POST", f"/{BUCKET}?delete", body=payload)
        assert reply.status == 400 and reply.error_code == "MalformedXML"
        assert (await client.request("GET", f"/{BUCKET}/a")).body == b"keep me"

    aio.run(body())


def test_head_error_has_no_body(client: SignedClient, aio: asyncio.Runner) -> None:
    reply = aio.run(client.request("HEAD", f"/{BUCKET}/missing"))
    assert reply.status == 404 and reply.body == b""
    assert reply.headers["x-amz-request-id"]


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


def test_bad_max_keys(client: SignedClient, aio: asyncio.Runner) -> None:
    reply = aio.run(client.request("GET", f"/{BUCKET}?list-type=2&max-keys=abc"))
    assert reply.status == 400 and reply.error_code == "InvalidArgument"


def test_bad_encoding_type(client: SignedClient, aio: asyncio.Runner) -> None:
    reply = aio.run(client.request("GET", f"/{BUCKET}?list-type=2&encoding-type=base64"))
    assert reply.status == 400 and reply.error_code == "InvalidArgument"
