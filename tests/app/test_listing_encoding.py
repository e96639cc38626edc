"""encoding-type=url on the four listings, element by element, as the API reference lists
them (ListObjects: Delimiter, Marker, NextMarker, Prefix, Key; ListObjectsV2: Delimiter,
Prefix, Key, StartAfter; ListObjectVersions and ListMultipartUploads: Delimiter, KeyMarker,
NextKeyMarker, Prefix, Key), in S3's form encoding; and the empty continuation-token.

Raw XML through aiohttp's test client: boto3 would decode what we want to see.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from lxml import etree

from gateway.xml.codec import S3_NS
from tests.app.client import SignedClient

BUCKET = "encoding"
# A key S3's encoding changes in every way: space, "+", "~", "%", a control character,
# non-ASCII, and a "/" it keeps.
PREFIX = "d i+r~%/"
KEY = PREFIX + "f\u00e9\x01 (1).txt"
KEY_ENC = "d+i%2Br%7E%25/f%C3%A9%01+%281%29.txt"
PREFIX_ENC = "d+i%2Br%7E%25/"
UNDER = "d i+r~%/sub dir/x"  # rolls up into the common prefix below
COMMON_ENC = "d+i%2Br%7E%25/sub+dir/"


@pytest.fixture
def client(app_client: SignedClient, aio: asyncio.Runner) -> SignedClient:
    async def fill() -> None:
        assert (await app_client.request("PUT", f"/{BUCKET}")).status == 200
        for key in (KEY, UNDER):
            reply = await app_client.request("PUT", f"/{BUCKET}/{quote(key)}", body=b"x")
            assert reply.status == 200, reply.body
            reply = await app_client.request("POST", f"/{BUCKET}/{quote(key)}?uploads")
            assert reply.status == 200, reply.body

    aio.run(fill())
    return app_client


def _get(client: SignedClient, aio: asyncio.Runner, query: str) -> etree._Element:
    reply = aio.run(client.request("GET", f"/{BUCKET}?{query}"))
    assert reply.status == 200, reply.body
    return etree.fromstring(reply.body)


def _texts(doc: etree._Element, path: str) -> list[str]:
    return [el.text or "" for el in doc.iterfind(path, {"s3": S3_NS})]


ASKED = f"encoding-type=url&delimiter=%2F&prefix={quote(PREFIX, safe='')}"


def test_list_objects_v1_encoding(client: SignedClient, aio: asyncio.Runner) -> None:
    doc = _get(client, aio, f"{ASKED}&max-keys=1&marker={quote(PREFIX + 'a', safe='')}")
    assert _texts(doc, "s3:Prefix") == [PREFIX_ENC]
    assert _texts(doc, "s3:Delimiter") == ["/"]
    assert _texts(doc, "s3:Marker") == [PREFIX_ENC + "a"]
    assert _texts(doc, "s3:Contents/s3:Key") == [KEY_ENC]
    assert _texts(doc, "s3:NextMarker") == [KEY_ENC]
    assert _texts(doc, "s3:EncodingType") == ["url"]


def test_list_objects_v2_encoding(client: SignedClient, aio: asyncio.Runner) -> None:
    doc = _get(client, aio, f"list-type=2&{ASKED}&start-after={quote(PREFIX + 'a', safe='')}")
    assert _texts(doc, "s3:Prefix") == [PREFIX_ENC]
    assert _texts(doc, "s3:Delimiter") == ["/"]
    assert _texts(doc, "s3:StartAfter") == [PREFIX_ENC + "a"]
    assert _texts(doc, "s3:Contents/s3:Key") == [KEY_ENC]
    assert _texts(doc, "s3:CommonPrefixes/s3:Prefix") == [COMMON_ENC]
    # The continuation token is opaque: never encoded, and given back as it came.
    first = _get(client, aio, f"list-type=2&{ASKED}&max-keys=1")
    (token,) = _texts(first, "s3:NextContinuationToken")
    doc = _get(client, aio, f"list-type=2&{ASKED}&continuation-token={quote(token, safe='')}")
    assert _texts(doc, "s3:ContinuationToken") == [token]
    assert _texts(doc, "s3:CommonPrefixes/s3:Prefix") == [COMMON_ENC]


def test_list_object_versions_encoding(client: SignedClient, aio: asyncio.Runner) -> None:
    doc = _get(client, aio, f"versions&{ASKED}&key-marker={quote(PREFIX + 'a', safe='')}")
    assert _texts(doc, "s3:Prefix") == [PREFIX_ENC]
    assert _texts(doc, "s3:Delimiter") == ["/"]
    assert _texts(doc, "s3:KeyMarker") == [PREFIX_ENC + "a"]
    assert _texts(doc, "s3:Version/s3:Key") == [KEY_ENC]
    assert _texts(doc, "s3:Version/s3:VersionId") == ["null"]
    assert _texts(doc, "s3:CommonPrefixes/s3:Prefix") == [COMMON_ENC]
    doc = _get(client, aio, f"versions&{ASKED}&max-keys=1")
    assert _texts(doc, "s3:NextKeyMarker") == [KEY_ENC]


def test_list_multipart_uploads_encoding(client: SignedClient, aio: asyncio.Runner) -> None:
    doc = _get(client, aio, f"uploads&{ASKED}&key-marker={quote(PREFIX + 'a', safe='')}")
    assert _texts(doc, "s3:Prefix") == [PREFIX_ENC]
    assert _texts(doc, "s3:Delimiter") == ["/"]
    assert _texts(doc, "s3:KeyMarker") == [PREFIX_ENC + "a"]
    assert _texts(doc, "s3:Upload/s3:Key") == [KEY_ENC]
    assert _texts(doc, "s3:CommonPrefixes/s3:Prefix") == [COMMON_ENC]
    doc = _get(client, aio, f"uploads&{ASKED}&max-uploads=1")
    assert _texts(doc, "s3:NextKeyMarker") == [KEY_ENC]
    (upload_id,) = _texts(doc, "s3:NextUploadIdMarker")
    assert "%" not in upload_id


def test_list_objects_v2_empty_continuation_token(
    client: SignedClient, aio: asyncio.Runner
) -> None:
    # S3 refuses an empty token rather than listing from the start (moto and the s3-tests
    # forks that run against AWS agree): 400 InvalidArgument.
    reply = aio.run(client.request("GET", f"/{BUCKET}?list-type=2&continuation-token="))
    assert (reply.status, reply.error_code) == (400, "InvalidArgument")
    assert etree.fromstring(reply.body).findtext("ArgumentName") == "continuation-token"
