"""The `s3` backend: blobs as objects in one bucket of any S3 server (MinIO, SeaweedFS, AWS).

How a blob is stored: object `prefix + blob_id` in the configured bucket, path-style
addressing by default (MinIO, SeaweedFS; pass addressing_style="virtual" for AWS).

Write path (put_blob): when the caller gives the blob's size (the request's declared
length: the usual case), a blob of up to `single_put_max` bytes (default 5 GiB, S3's
PutObject limit) goes up as one PutObject whose body is fed from the stream as it arrives
(backends.streamed); a larger one becomes a multipart upload
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html) whose
parts' lengths are all known before the first byte arrives, each UploadPart body fed the
same way: nothing is buffered but the chunks in transit, whatever the size. Such a body
cannot be replayed, so a failed request is not retried by botocore: the put fails (503)
and the client retries the request. Since no part could be retried on its own anyway,
one request is the cheapest way up: a 25 MiB blob in 8 MiB parts would cost six requests
(create, four parts, complete) and the server's assembly of the parts. Payloads are sent
as UNSIGNED-PAYLOAD (a streamed body cannot be hashed before it is sent; botocore would
otherwise hash every body over http, in the event loop). Without a size, a blob that fits
in one part (`part_size`) goes up as one PutObject; a larger stream is cut into parts of
`part_size` (PartReader): `parts_in_flight` parts (default 1) upload while the next is
read from the stream, so at most parts_in_flight + 1 parts are in memory (16 MiB with the
defaults). Any failure, including one raised by the stream or a cancellation, aborts the
upload: an incomplete upload is never listed by ListObjectsV2, and the abort frees its
parts (if the server is unreachable even for the abort, `abort_stale_uploads`, which the
blob collector calls, or the bucket's AbortIncompleteMultipartUpload lifecycle rule frees
them later).

Read path (get_blob): one GetObject (ranged unless it starts at 0 with no end), whose body
is yielded in the pieces the socket delivers, uncopied. A missing blob raises BlobNotFound
from the GetObject call, before the first chunk is yielded. relay_blob instead hands the
body over on a socket of its own (backends/relay.py) for the gateway to splice to its client, when
the endpoint is plain HTTP and the answer is a plain 200/206. With path-style addressing
its presigned GetObject URL is signed by auth/presign.py: botocore's generate_presigned_url
costs ~0.75 ms of Python per call, ours ~25 us (virtual hosts keep botocore's, whose rules
decide when a bucket name can be a host name).

MD5s (Digesting, backends/base.py): S3 servers answer a PutObject with the body's MD5 as
its ETag (MinIO, SeaweedFS, Garage, Ceph; AWS unless the object is encrypted with SSE-KMS
or SSE-C), but not all do, and the gateway records that MD5 as the object's ETag. So when
the backend gets ready it stores a probe of random bytes and compares the ETag with their
MD5 (then deletes it); if they agree, put_blob_digested returns the server's MD5 of every
blob that goes up as one PutObject, and the gateway (gateway/writepath.py) does not hash
those bytes itself: MD5 is the costliest thing the gateway does to a PUT's bytes (~1.5 s of
CPU per GiB here). An ETag that does not look like an MD5 makes it return None, and the
gateway hashes the stored blob instead. `server_md5=False` (--s3-hash-locally) skips the
probe and leaves all hashing to the gateway, for a store whose encryption may change.

Lifecycle: the aiobotocore client (one connection pool, `max_pool_connections`) is created
on first use, on the running event loop, together with a check that the bucket exists and
its creation if not (create_bucket=False skips both, for credentials that may not list or
create buckets). A failed check is retried on the next call, so a backend
built while the S3 server is down starts working once it is up. `start()` does this
eagerly; `close()` releases the pool (a later call opens a new one).

Retries: botocore's "standard" retry mode retries throttling, 5xx and connection errors
with exponential backoff, up to `max_attempts` attempts; `connect_timeout` and
`read_timeout` bound each attempt. Whatever still fails is translated by errors.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
from botocore.loaders import create_loader

from auth.presign import presign_v4
from auth.sigv4 import uri_encode
from backends.base import (
    BackendError,
    BackendUnavailable,
    BlobInfo,
    BlobNotFound,
    BlobRelay,
    ByteStream,
    store_tells_md5,
)
from backends.parts import PartReader
from backends.relay import RelayClient
from backends.s3.errors import client_error_code, s3_errors
from backends.streamed import (
    PartBody,
    PartSource,
    body_errors,
    part_lengths,
    response_pieces,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 8 * MiB
SINGLE_PUT_MAX = 5 * 1024 * MiB  # PutObject's limit
_BUCKET_MISSING = frozenset({"404", "NoSuchBucket", "NotFound"})
# botocore parses the S3 service model (JSON) once per loader: sharing one loader makes
# creating a client take ~15 ms instead of ~150 ms. It only reads botocore's data files.
_DATA_LOADER = create_loader()
_RELAY_EXPIRES = 900  # a relay's URL is sent at once: only a clock far off could matter


def etag_md5(etag: object) -> bytes | None:
    """The MD5 a quoted ETag of 32 hex digits stands for; None for any other ETag."""
    if not isinstance(etag, str) or len(etag) != 34 or etag[0] != '"' or etag[-1] != '"':
        return None
    try:
        digest = bytes.fromhex(etag[1:-1])
    except ValueError:
        return None
    return digest if len(digest) == 16 else None  # fromhex skips spaces


def holds_range(response: dict[str, Any], start: int, end: int | None) -> bool:
    """Whether a GetObject answer to `Range: bytes=start-(end-1)` holds bytes [start, end):
    a 206 for them, or a 200 whose whole object is exactly those bytes (RFC 9110 lets a
    server ignore Range: its 200 would otherwise be other bytes than those asked for)."""
    if str(response.get("ContentRange", "")).startswith(f"bytes {start}-"):
        return True
    return start == 0 and (end is None or response.get("ContentLength") == end)


def may_have_reached_server(exc: BaseException) -> bool:
    """Whether a request that failed with `exc` may still have taken effect on the server."""
    if isinstance(exc, asyncio.CancelledError):
        return True
    if isinstance(exc, BackendUnavailable):  # not if it never connected
        return not isinstance(exc.__cause__, EndpointConnectionError | ConnectTimeoutError)
    return False


class S3Backend:
    """Blobs as objects `prefix + blob_id` in `bucket` on the S3 server at `endpoint`."""

    name = "s3"

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str,
        secret_key: str,
        prefix: str = "",
        region: str = "us-east-1",
        session_token: str | None = None,
        addressing_style: str = "path",
        create_bucket: bool = True,
        part_size: int = DEFAULT_PART_SIZE,
        single_put_max: int = SINGLE_PUT_MAX,
        parts_in_flight: int = 1,
        max_pool_connections: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        retry_mode: str = "standard",
        server_md5: bool = True,
    ) -> None:
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be within [{MIN_PART_SIZE}, {MAX_PART_SIZE}]")
        if parts_in_flight < 1:
            raise ValueError("parts_in_flight must be at least 1")
        if not 0 <= single_put_max <= SINGLE_PUT_MAX:
            raise ValueError(f"single_put_max must be within [0, {SINGLE_PUT_MAX}]")
        self._endpoint = endpoint
        self._virtual_hosts = addressing_style == "virtual"
        self._bucket = bucket
        self._prefix = prefix
        self._region = region
        self._credentials = (access_key, secret_key, session_token)
        self._create_bucket = create_bucket
        self._part_size = part_size
        self._single_put_max = single_put_max
        self._parts_in_flight = parts_in_flight
        self._server_md5 = server_md5
        self._etag_is_md5 = False  # until the probe says otherwise
        self._config = AioConfig(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": addressing_style, "payload_signing_enabled": False},
            retries={"mode": retry_mode, "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
            # Checksums only where the API requires them: the new default CRC headers and
            # aws-chunked trailers are not understood by every S3-compatible server.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # GetObject bodies the gateway splices to its clients (backends/relay.py); not over TLS.
        self._relay = (
            RelayClient(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                max_idle=max_pool_connections,
            )
            if endpoint.startswith("http://")
            else None
        )
        self._client: Any = None
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._bucket_checked = False
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:  # no credentials, ever
        return f"S3Backend({self._endpoint!r}, {self._bucket!r}, prefix={self._prefix!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the connection pool and check (or create) the bucket now, not on first use."""
        await self._ready()

    async def _ready(self) -> Any:
        if self._client is not None and self._bucket_checked:
            return self._client
        async with self._lock:
            if self._client is None:
                access_key, secret_key, session_token = self._credentials
                session = get_session()
                session.register_component("data_loader", _DATA_LOADER)
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    session.create_client(
                        "s3",
                        endpoint_url=self._endpoint,
                        region_name=self._region,
                        aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key,
                        aws_session_token=session_token,
                        config=self._config,
                    )
                )
                self._exit_stack = stack
            if not self._bucket_checked:
                await self._ensure_bucket(self._client)
                if self._server_md5:
                    self._etag_is_md5 = await self._probe_etag(self._client)
                self._bucket_checked = True
        return self._client

    async def _ensure_bucket(self, client: Any) -> None:
        if not self._create_bucket:  # credentials may lack s3:ListBucket; trust the config
            return
        with s3_errors("HeadBucket"):
            try:
                await client.head_bucket(Bucket=self._bucket)
                return
            except ClientError as exc:
                if client_error_code(exc) not in _BUCKET_MISSING:
                    raise
        kwargs: dict[str, Any] = {"Bucket": self._bucket}
        if self._region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        with s3_errors("CreateBucket"):
            try:
                await client.create_bucket(**kwargs)
            except ClientError as exc:
                if client_error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    async def _probe_etag(self, client: Any) -> bool:
        """Whether the server's PutObject ETag is the MD5 of the body (see the module
        docstring)."""

        async def put(blob_id: str, body: bytes) -> bytes | None:
            return etag_md5((await self._put_object(client, blob_id, body)).get("ETag"))

        return await store_tells_md5(
            "s3 backend", put, lambda blob_id: self._delete_quietly(client, blob_id)
        )

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        stack, self._exit_stack = self._exit_stack, None
        self._client = None
        if self._relay is not None:
            self._relay.close()
        self._bucket_checked = False
        if stack is not None:
            await stack.aclose()

    async def health(self) -> None:
        try:
            client = await self._ready()
            with s3_errors("HeadBucket"):
                await client.head_bucket(Bucket=self._bucket)
        except BackendUnavailable:
            raise
        except BackendError as exc:  # reachable but unusable (credentials, bucket): not ready
            raise BackendUnavailable(str(exc)) from exc

    def local_path(self, blob_id: str) -> str | None:
        return None

    def _key(self, blob_id: str) -> str:
        return self._prefix + blob_id

    # -- write ---------------------------------------------------------------------------------

    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int:
        client = await self._ready()
        if size is not None:
            return await self._put_streamed(client, blob_id, PartSource(data, size, blob_id))
        reader = PartReader(data)
        first = await reader.read(self._part_size)
        second = await reader.read(self._part_size) if len(first) == self._part_size else b""
        if not second:
            await self._put_object(client, blob_id, first)
            return len(first)
        return await self._put_multipart(client, blob_id, reader, first, second)

    def digests(self, size: int | None) -> bool:
        return self._etag_is_md5 and size is not None and self._single_put(size)

    async def put_blob_digested(
        self, blob_id: str, data: ByteStream, size: int | None = None
    ) -> tuple[int, bytes | None]:
        client = await self._ready()
        if size is None or not self.digests(size):
            return await self.put_blob(blob_id, data, size), None
        body = PartSource(data, size, blob_id).part(size, last=True)
        response = await self._put_object(client, blob_id, body)
        return size, etag_md5(response.get("ETag"))

    def _single_put(self, size: int) -> bool:
        """Whether a blob of `size` bytes goes up as one PutObject."""
        return size <= self._part_size or size <= self._single_put_max

    async def _put_streamed(self, client: Any, blob_id: str, source: PartSource) -> int:
        if self._single_put(source.size):
            await self._put_object(client, blob_id, source.part(source.size, last=True))
            return source.size
        lengths = part_lengths(source.size, self._part_size, MAX_PARTS)
        key = self._key(blob_id)
        with s3_errors("CreateMultipartUpload", blob_id):
            upload = await client.create_multipart_upload(Bucket=self._bucket, Key=key)
        upload_id: str = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        completing = False
        try:
            for number, length in enumerate(lengths, start=1):
                body = source.part(length, last=number == len(lengths))
                parts.append(await self._upload_part(client, blob_id, upload_id, number, body))
            completing = True
            await self._complete(client, blob_id, key, upload_id, parts)
        except BaseException as exc:
            delete = completing and may_have_reached_server(exc)
            await self._shielded(self._abort_quietly(client, blob_id, upload_id, delete))
            raise
        return source.size

    async def _put_object(
        self, client: Any, blob_id: str, body: bytes | PartBody
    ) -> dict[str, Any]:
        try:
            with body_errors(body), s3_errors("PutObject", blob_id):
                return await client.put_object(  # type: ignore[no-any-return]
                    Bucket=self._bucket,
                    Key=self._key(blob_id),
                    Body=body,
                    ContentLength=body.length if isinstance(body, PartBody) else len(body),
                )
        except BaseException as exc:
            # It may be stored although we saw an error. Some servers (SeaweedFS) even keep
            # a truncated body when the connection closes mid-request, as a streamed body
            # that failed does.
            streamed = isinstance(body, PartBody) and body.started
            if streamed or may_have_reached_server(exc):
                await self._shielded(self._delete_quietly(client, blob_id))
            raise

    async def _put_multipart(
        self, client: Any, blob_id: str, reader: PartReader, first: bytes, second: bytes
    ) -> int:
        key = self._key(blob_id)
        with s3_errors("CreateMultipartUpload", blob_id):
            upload = await client.create_multipart_upload(Bucket=self._bucket, Key=key)
        upload_id: str = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        in_flight: list[asyncio.Task[dict[str, Any]]] = []
        completing = False
        try:
            part, number, upcoming = first, 1, second
            while part:
                if number > MAX_PARTS:
                    raise BackendError(f"s3 put {blob_id}: more than {MAX_PARTS} parts")
                if len(in_flight) >= self._parts_in_flight:
                    parts.append(await in_flight.pop(0))
                in_flight.append(
                    asyncio.create_task(self._upload_part(client, blob_id, upload_id, number, part))
                )
                number += 1
                # Read the next part while the others upload.
                part = upcoming if upcoming else await reader.read(self._part_size)
                upcoming = b""
            for task in in_flight:
                parts.append(await task)
            in_flight.clear()
            completing = True
            await self._complete(client, blob_id, key, upload_id, parts)
        except BaseException as exc:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            delete = completing and may_have_reached_server(exc)
            await self._shielded(self._abort_quietly(client, blob_id, upload_id, delete))
            raise
        return reader.total

    async def _complete(
        self, client: Any, blob_id: str, key: str, upload_id: str, parts: list[dict[str, Any]]
    ) -> None:
        with s3_errors("CompleteMultipartUpload", blob_id):
            await client.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

    async def _upload_part(
        self, client: Any, blob_id: str, upload_id: str, number: int, body: bytes | PartBody
    ) -> dict[str, Any]:
        with body_errors(body), s3_errors("UploadPart", blob_id):
            response = await client.upload_part(
                Bucket=self._bucket,
                Key=self._key(blob_id),
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ContentLength=body.length if isinstance(body, PartBody) else len(body),
            )
        return {"PartNumber": number, "ETag": response["ETag"]}

    async def _abort_quietly(self, client: Any, blob_id: str, upload_id: str, delete: bool) -> None:
        try:
            with s3_errors("AbortMultipartUpload", blob_id):
                await client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._key(blob_id), UploadId=upload_id
                )
        except BackendError as exc:
            log.warning(
                "%s; the incomplete upload stays until the bucket's "
                "AbortIncompleteMultipartUpload lifecycle rule removes it",
                exc,
            )
        if delete:  # CompleteMultipartUpload may have succeeded before the error
            await self._delete_quietly(client, blob_id)

    async def _delete_quietly(self, client: Any, blob_id: str) -> None:
        try:
            with s3_errors("DeleteObject", blob_id):
                await client.delete_object(Bucket=self._bucket, Key=self._key(blob_id))
        except BackendError as exc:
            log.warning("%s; the blob collector will remove it later", exc)

    async def _shielded(self, cleanup: Coroutine[Any, Any, None]) -> None:
        """Run a cleanup to its end even if the task running put_blob is being cancelled."""
        task = asyncio.create_task(cleanup)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await asyncio.shield(task)

    # -- read ----------------------------------------------------------------------------------

    async def get_blob(
        self, blob_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"negative range [{start}, {end})")
        if end is not None and end <= start:
            await self.blob_size(blob_id)  # nothing to read, but the blob must exist
            return
        client = await self._ready()
        # https://www.rfc-editor.org/rfc/rfc9110#name-byte-ranges: last-byte-pos is inclusive.
        ranged = start > 0 or end is not None
        asked = {"Range": f"bytes={start}-{'' if end is None else end - 1}"} if ranged else {}
        with s3_errors("GetObject", blob_id):
            try:
                response = await client.get_object(
                    Bucket=self._bucket,
                    Key=self._key(blob_id),
                    **asked,
                )
            except ClientError as exc:
                # 416: the range starts at or past the end of an existing blob.
                if client_error_code(exc) != "InvalidRange":
                    raise
                return
        body = response["Body"]
        if ranged and not holds_range(response, start, end):
            body.close()
            raise BackendError(f"s3 GetObject {blob_id}: the answer is not the range asked for")
        # The response's own aiohttp stream (StreamingBody.read(n) would join its pieces).
        try:
            pieces = response_pieces(
                body.raw_stream.content, lambda: s3_errors("GetObject", blob_id)
            )
            async for chunk in pieces:
                yield chunk
        finally:
            body.close()

    async def relay_blob(self, blob_id: str, start: int, end: int) -> BlobRelay | None:
        """Bytes [start, end) on a socket of the relay's pool (backends/relay.py), or None."""
        if self._relay is None or end <= start:
            return None
        client = await self._ready()
        if self._virtual_hosts:
            url = await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": self._key(blob_id)},
                ExpiresIn=_RELAY_EXPIRES,
            )
        else:
            url = self._presigned_get(blob_id)
        return await self._relay.open(url, start, end)

    def _presigned_get(self, blob_id: str, now: float | None = None) -> str:
        """A presigned GetObject URL of the blob, path-style, as botocore would sign it."""
        parts = urlsplit(self._endpoint)
        host = parts.netloc
        key = uri_encode(self._key(blob_id), keep_slash=True)
        path = f"{parts.path.rstrip('/')}/{uri_encode(self._bucket)}/{key}"
        access_key, secret_key, session_token = self._credentials
        signed = presign_v4(
            method="GET",
            host=host,
            raw_path=path,
            query=(),
            access_key=access_key,
            secret_key=secret_key,
            region=self._region,
            now=time.time() if now is None else now,
            expires=_RELAY_EXPIRES,
            session_token=session_token,
        )
        return f"{parts.scheme}://{host}{signed}"

    async def blob_size(self, blob_id: str) -> int:
        client = await self._ready()
        with s3_errors("HeadObject", blob_id):
            response = await client.head_object(Bucket=self._bucket, Key=self._key(blob_id))
        return int(response["ContentLength"])

    async def delete_blob(self, blob_id: str) -> None:
        client = await self._ready()
        try:
            with s3_errors("DeleteObject", blob_id):
                await client.delete_object(Bucket=self._bucket, Key=self._key(blob_id))
        except BlobNotFound:  # S3 answers 204 for a missing key; some servers say NoSuchKey
            pass

    # -- upkeep --------------------------------------------------------------------------------

    async def abort_stale_uploads(self, older_than: float, *, now: float | None = None) -> int:
        """Abort the multipart uploads under our prefix initiated more than `older_than`
        seconds ago: those of put_blob calls whose own abort failed (the server was
        unreachable). Returns how many were aborted. Called by gateway.jobs.collector, with
        --pending-ttl: no put_blob still running is that old. The bucket (or the prefix)
        belongs to the gateway, so every upload in it is one of ours."""
        client = await self._ready()
        cutoff = (time.time() if now is None else now) - older_than
        pages = client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        )
        page_iter = pages.__aiter__()
        aborted = 0
        while True:
            with s3_errors("ListMultipartUploads"):
                try:
                    page = await anext(page_iter)
                except StopAsyncIteration:
                    return aborted
            for upload in page.get("Uploads", ()):
                initiated = upload.get("Initiated")
                if initiated is None or initiated.timestamp() >= cutoff:
                    continue
                with s3_errors("AbortMultipartUpload"):
                    try:
                        await client.abort_multipart_upload(
                            Bucket=self._bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    except ClientError as exc:
                        if client_error_code(exc) != "NoSuchUpload":  # finished meanwhile
                            raise
                aborted += 1

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        client = await self._ready()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix
        )
        page_iter = pages.__aiter__()
        while True:
            with s3_errors("ListObjectsV2"):
                try:
                    page = await anext(page_iter)
                except StopAsyncIteration:
                    return
            for obj in page.get("Contents", ()):
                blob_id = obj["Key"][len(self._prefix) :]
                if blob_id and not blob_id.endswith("/"):  # skip directory markers
                    modified = obj.get("LastModified")
                    yield BlobInfo(
                        blob_id, int(obj["Size"]), modified.timestamp() if modified else None
                    )
