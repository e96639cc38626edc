"""Multipart uploads racing with themselves, through the in-process app.

A part uploaded twice at once, the later upload finishing first (a client that gave up
on a slow attempt and retried, or two workers racing): both uploads are kept until the
Complete, which is made of the one whose ETag it names, whichever finished last; ListParts
shows the upload that began last (issue #19, item 6).
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from lxml import etree

from tests.app.client import SignedClient
from tests.app.test_conditional_requests import GatedBody, send_gated


def _complete_body(etag: str) -> bytes:
    return (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()


@pytest.mark.parametrize("named", ["first attempt", "retry"])
def test_part_uploaded_twice_later_upload_finishing_first(
    app_client: SignedClient, aio: asyncio.Runner, named: str
) -> None:
    client = app_client

    async def body() -> None:
        assert (await client.request("PUT", "/races")).status == 200
        created = await client.request("POST", "/races/k?uploads")
        upload_id = etree.fromstring(created.body).findtext("{*}UploadId")
        part = f"/races/k?partNumber=1&uploadId={upload_id}"
        slow = GatedBody(b"first attempt " * 100)
        first = await send_gated(client, "PUT", part, slow, {})
        retry = await client.request("PUT", part, body=b"the retry")
        assert retry.status == 200
        slow.release()
        assert (await first).status == 200
        slow_etag = f'"{hashlib.md5(slow.payload).hexdigest()}"'
        listed = await client.request("GET", f"/races/k?uploadId={upload_id}")
        etags = etree.fromstring(listed.body).findall("{*}Part/{*}ETag")
        assert [e.text for e in etags] == [retry.headers["ETag"]]  # the one begun last
        done = f"/races/k?uploadId={upload_id}"
        wrong = await client.request("POST", done, body=_complete_body('"' + "0" * 32 + '"'))
        assert (wrong.status, wrong.error_code) == (400, "InvalidPart")
        etag, content = (
            (slow_etag, slow.payload)
            if named == "first attempt"
            else (retry.headers["ETag"], b"the retry")
        )
        completed = await client.request("POST", done, body=_complete_body(etag))
        assert completed.status == 200, completed.body
        assert (await client.request("GET", "/races/k")).body == content

    aio.run(body())
