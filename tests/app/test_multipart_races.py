"""Multipart uploads racing with themselves, through the in-process app.

A part uploaded twice at once, the later upload finishing first (a client that gave up
on a slow attempt and retried): the Complete names the retry's ETag, and the object is
made of the retry's bytes, not of the attempt that finished last.
"""

from __future__ import annotations

import asyncio
import hashlib

from lxml import etree

from tests.app.client import SignedClient
from tests.app.test_conditional_requests import GatedBody, send_gated


def _complete_body(etag: str) -> bytes:
    return (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()


def test_part_uploaded_twice_later_upload_finishing_first(
    app_client: SignedClient, aio: asyncio.Runner
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
        done = f"/races/k?uploadId={upload_id}"
        # The attempt that finished last is not the part.
        refused = await client.request(
            "POST", done, body=_complete_body(f'"{hashlib.md5(slow.payload).hexdigest()}"')
        )
        assert (refused.status, refused.error_code) == (400, "InvalidPart")
        completed = await client.request("POST", done, body=_complete_body(retry.headers["ETag"]))
        assert completed.status == 200, completed.body
        assert (await client.request("GET", "/races/k")).body == b"the retry"

    aio.run(body())
