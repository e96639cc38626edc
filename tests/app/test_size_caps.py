"""--max-object-size and AWS's size caps whatever the framing (gateway/ops/common.py): a
body of undeclared length stops at the cap with EntityTooLarge and leaves nothing stored;
CompleteMultipartUpload checks the total."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.client import SignedClient, signed_client
from tests.app.test_limits import chunks, nothing_stored

CAP = 1000
MIB = 1024**2


@pytest.fixture
def open_client(tmp_path: Path, aio: asyncio.Runner) -> Iterator[Any]:
    managers: list[Any] = []

    def open_(**settings: Any) -> SignedClient:
        manager = signed_client(tmp_path / f"app{len(managers)}", **settings)
        managers.append(manager)
        client: SignedClient = aio.run(manager.__aenter__())
        return client

    yield open_
    for manager in reversed(managers):
        aio.run(manager.__aexit__(None, None, None))


def _code(body: bytes) -> str:
    found = re.search(rb"<Code>([^<]+)</Code>", body)
    return found.group(1).decode() if found else ""


def test_put_object_of_undeclared_length_is_capped(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(max_object_size=CAP)

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        data = b"x" * 600
        reply = await client.request(
            "PUT", "/caps/big", body=chunks(data, data), signed_body=data + data
        )
        assert reply.status == 400 and _code(reply.body) == "EntityTooLarge", reply.body
        await nothing_stored(client, "caps", "big")
        # Under the cap, the same framing is stored.
        reply = await client.request("PUT", "/caps/small", body=chunks(data), signed_body=data)
        assert reply.status == 200, reply.body

    aio.run(run())


def test_put_object_declared_over_cap(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(max_object_size=CAP)

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        reply = await client.request("PUT", "/caps/big", body=b"x" * (CAP + 1))
        assert reply.status == 400 and _code(reply.body) == "EntityTooLarge", reply.body
        assert b"<MaxSizeAllowed>1000</MaxSizeAllowed>" in reply.body
        await nothing_stored(client, "caps", "big")

    aio.run(run())


async def _create_upload(client: SignedClient, path: str) -> str:
    reply = await client.request("POST", f"{path}?uploads")
    assert reply.status == 200, reply.body
    found = re.search(rb"<UploadId>([^<]+)</UploadId>", reply.body)
    assert found is not None
    return found.group(1).decode()


def test_upload_part_of_undeclared_length_is_capped(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(max_object_size=CAP)

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        upload_id = await _create_upload(client, "/caps/mp")
        data = b"y" * 700
        reply = await client.request(
            "PUT",
            f"/caps/mp?partNumber=1&uploadId={upload_id}",
            body=chunks(data, data),
            signed_body=data + data,
        )
        assert reply.status == 400 and _code(reply.body) == "EntityTooLarge", reply.body
        assert [b async for b in client.services.backend.list_blobs()] == []

    aio.run(run())


def test_complete_multipart_upload_over_max_object_size(
    open_client: Any, aio: asyncio.Runner
) -> None:
    client = open_client(max_object_size=6 * MIB)

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        upload_id = await _create_upload(client, "/caps/mp")
        etags = []
        for number, size in ((1, 5 * MIB), (2, 2 * MIB)):
            reply = await client.request(
                "PUT", f"/caps/mp?partNumber={number}&uploadId={upload_id}", body=b"z" * size
            )
            assert reply.status == 200, reply.body
            etags.append(reply.headers["ETag"])
        parts = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            for n, etag in enumerate(etags, 1)
        )
        reply = await client.request(
            "POST",
            f"/caps/mp?uploadId={upload_id}",
            body=f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode(),
        )
        assert reply.status == 400 and _code(reply.body) == "EntityTooLarge", reply.body
        assert (await client.request("HEAD", "/caps/mp")).status == 404
        # The upload is left as it was (as AWS does): the client may still abort it.
        reply = await client.request("DELETE", f"/caps/mp?uploadId={upload_id}")
        assert reply.status == 204

    aio.run(run())


def test_open_uploads_per_object_are_capped(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(max_open_uploads_per_object=2)

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        first = await _create_upload(client, "/caps/mp")
        await _create_upload(client, "/caps/mp")
        await _create_upload(client, "/caps/mp-other")  # another key: its own count
        reply = await client.request("POST", "/caps/mp?uploads")
        assert reply.status == 400 and _code(reply.body) == "InvalidRequest", reply.body
        assert (await client.request("DELETE", f"/caps/mp?uploadId={first}")).status == 204
        await _create_upload(client, "/caps/mp")

    aio.run(run())


def test_part_number_past_ten_thousand(open_client: Any, aio: asyncio.Runner) -> None:
    """Parts per upload: AWS's 10,000, as part numbers 1 to 10,000."""
    client = open_client()

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        upload_id = await _create_upload(client, "/caps/mp")
        path = f"/caps/mp?partNumber=10001&uploadId={upload_id}"
        reply = await client.request("PUT", path, body=b"x")
        assert reply.status == 400 and _code(reply.body) == "InvalidArgument", reply.body

    aio.run(run())


def test_post_object_and_tus_follow_max_object_size(open_client: Any, aio: asyncio.Runner) -> None:
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config

    from tests.app.test_post_object import body_of
    from tests.support.tus import OFFSET_TYPE, TUS, creation_url, send

    client = open_client(max_object_size=CAP)
    endpoint = str(client.client.make_url("/")).rstrip("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=client.access_key,
        aws_secret_access_key=client.secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    form = s3.generate_presigned_post("caps", "form.bin", ExpiresIn=600)
    data, headers = body_of(list(form["fields"].items()), b"x" * (CAP + 1))
    keys = (client.access_key, client.secret_key)

    async def run() -> None:
        assert (await client.request("PUT", "/caps")).status == 200
        async with client.client.session.post(form["url"], data=data, headers=headers) as resp:
            assert resp.status == 400 and _code(await resp.read()) == "EntityTooLarge"
        await nothing_stored(client, "caps", "form.bin")
        options = await asyncio.to_thread(send, "OPTIONS", f"{endpoint}/_kv/tus/", dict(TUS))
        assert options.headers["tus-max-size"] == str(CAP)
        url = creation_url(endpoint, keys, "caps", "tus.bin")
        over = {**TUS, **OFFSET_TYPE, "Upload-Length": str(CAP + 1)}
        assert (await asyncio.to_thread(send, "POST", url, over)).status == 413

    aio.run(run())
