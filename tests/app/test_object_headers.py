"""Object headers as S3 returns them: non-ASCII user metadata (RFC 2047 on the way out,
decoded on the way in) and Content-Encoding byte for byte."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.app.client import SignedClient

BUCKET = "headers"


def test_non_ascii_user_metadata(app_client: SignedClient, aio: asyncio.Runner) -> None:
    async def run() -> None:
        assert (await app_client.request("PUT", f"/{BUCKET}")).status == 200
        sent = {
            "x-amz-meta-raw": "caf\u00e9 \u65e5\u672c",  # raw UTF-8 on the wire
            "x-amz-meta-word": "=?UTF-8?B?w6l0w6k=?=",  # an RFC 2047 word: "été"
            "x-amz-meta-ascii": "plain =? text",
        }
        reply = await app_client.request("PUT", f"/{BUCKET}/k", body=b"x", headers=sent)
        assert reply.status == 200, reply.body
        for method in ("HEAD", "GET"):
            reply = await app_client.request(method, f"/{BUCKET}/k")
            assert reply.status == 200
            assert reply.headers["x-amz-meta-raw"] == "=?UTF-8?B?Y2Fmw6kg5pel5pys?="
            assert reply.headers["x-amz-meta-word"] == "=?UTF-8?B?w6l0w6k=?="
            assert reply.headers["x-amz-meta-ascii"] == "plain =? text"
        # A copy keeps the stored text, so it answers the same.
        copied = {"x-amz-copy-source": f"/{BUCKET}/k"}
        reply = await app_client.request("PUT", f"/{BUCKET}/k2", headers=copied)
        assert reply.status == 200, reply.body
        reply = await app_client.request("HEAD", f"/{BUCKET}/k2")
        assert reply.headers["x-amz-meta-raw"] == "=?UTF-8?B?Y2Fmw6kg5pel5pys?="

    aio.run(run())


def test_content_encoding_byte_for_byte(s3: Any, bucket: str) -> None:
    for value in ("gzip,  br", "GZip ,deflate", "x-custom;q=1"):
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentEncoding=value)
        assert s3.head_object(Bucket=bucket, Key="k")["ContentEncoding"] == value
        got = s3.get_object(Bucket=bucket, Key="k")
        assert got["ContentEncoding"] == value
        got["Body"].read()
