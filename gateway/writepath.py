"""Streaming bytes into a new blob: the write path of DESIGN.md.

How this works:
  1. A fresh blob id is recorded as pending, so a crash leaves something the collector
     finds (gateway.jobs.collector deletes pending blobs older than --pending-ttl).
  2. The source streams through one BodyHasher (MD5 for the ETag plus the requested
     x-amz-checksum-*) into backend.put_blob. The request body's own iterator verifies
     the declared length, the payload SHA-256 and chunk signatures as it ends.
  3. `verify` checks Content-MD5 and checksums against the hashes.
  4. On any failure (including cancellation) the blob is deleted and forgotten, and the
     error propagates: the previous version of the key was never touched. When the
     backend itself failed (or cannot delete), the blob stays pending instead: the
     collector deletes whatever is left after --pending-ttl.
The caller then commits the version with MetaStore.put_object, which removes the blob from
the pending list in the same transaction that makes it visible.

MD5 from the store (backends.base.Digesting): when the backend's store computes the MD5
of a plaintext blob and says so (an S3 server whose ETags are MD5s, Azure's Put Blob), the
gateway takes it from the store's answer instead of hashing every byte itself; should the
answer carry none after all, the stored blob is read back and hashed. Content-MD5 is then
checked against the store's MD5, as it would be against ours. Never for a coded blob: its
stored bytes are not the plaintext.

Hashing runs in a worker thread on batches of received chunks (gateway.hashing: 1 MiB, or
less when many uploads are in progress: backends.buffering shares one budget):
chunks go on to the backend at once, and the stream ends when all are hashed. The chunks
are hashed and passed on as they are, never joined: each copy of a 1 GiB body costs the
event loop time and every in-flight request a buffer.

Codecs sit between the hashes and the backend (hashes, ETag and sizes are of the
plaintext): compression (gateway.codec.compress; under `auto` only when the first frame
shrinks), then sealing (gateway.codec.frames, or the compressed frames' own sealing).

Small objects (issue 17): with `inline_limit` (PutObject, POST Object and CopyObject pass
--inline-threshold when the size is known to be within it), up to that many bytes are
read into memory first. A body that ends within them is hashed, verified, coded exactly as
its blob would be, and returned as `StoredBlob.inline_data` with no blob and no pending
row: the caller's put_object stores the bytes in the version row (migration 0018), so the
PUT is one durable commit (gateway/meta/sqlite.py, postgres.py say how each store makes a
commit durable) and the GET one indexed read. A body that goes on past the limit (a wrong
length is caught by the body itself) streams to the backend as above, the bytes read so far
first. Memory per request stays bounded by the limit.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field

from backends.base import Backend, BackendError, Digesting, as_digesting
from backends.buffering import UPLOADS
from gateway.codec.checksums import BodyHasher
from gateway.codec.compress import ZSTD, pack_frames, worth_compressing
from gateway.codec.frames import FRAME_SIZE, FrameCipher, seal_frames
from gateway.codec.keys import Sealing, new_data_key
from gateway.codec.params import SegmentCodec
from gateway.context import Services
from gateway.hashing import Update, hashed_behind
from gateway.meta.base import Segment
from gateway.metrics.series import COMPRESSION_SAVED
from gateway.values import quick_init

log = logging.getLogger(__name__)


def new_blob_id() -> str:
    return secrets.token_hex(16)


@quick_init
@dataclass(frozen=True)
class StoredBlob:
    blob_id: str
    size: int
    md5_hex: str
    md5_b64: str
    checksum_algorithm: str | None
    checksum_b64: str | None
    codec: SegmentCodec | None = None  # sealed frames; None: the blob holds the plaintext
    # Stored inline (blob_id ""): the bytes as the codec left them, for the version row.
    inline_data: bytes | None = field(default=None, repr=False)

    def segment(self) -> Segment:
        """The one segment of a single-PUT version made of this blob."""
        return Segment(
            self.blob_id, self.size, codec=self.codec, inline=self.inline_data is not None
        )


async def _counted(source: AsyncIterable[bytes], count: list[int]) -> AsyncIterator[bytes]:
    async for chunk in source:
        count[0] += len(chunk)
        yield chunk


async def _coded(
    source: AsyncIterator[bytes], cipher: FrameCipher | None, compression: str, chose: list[bool]
) -> AsyncIterator[bytes]:
    """`source` through the codecs; `chose[0]` says whether it was compressed. Under
    `auto` the first frame is tried first (at most one frame is held for it)."""
    head = bytearray()
    if compression == "auto":
        async for chunk in source:
            head += chunk
            if len(head) >= FRAME_SIZE:
                break
    compress = compression == "on" or (
        compression == "auto" and worth_compressing(bytes(head[:FRAME_SIZE]))
    )

    async def rest() -> AsyncIterator[bytes]:
        if head:
            yield bytes(head)
        async for chunk in source:
            yield chunk

    chose[0] = compress
    if compress:
        coded = pack_frames(rest(), cipher)
    elif cipher is not None:
        coded = seal_frames(rest(), cipher, batch=_seal_batch)
    else:
        coded = rest()
    async for piece in coded:
        yield piece


def _seal_batch() -> int:
    """Frames per sealing step: half an upload batch (backends.buffering), as the sealing
    holds two steps (one being sealed, one being written) besides the upload's batches."""
    return UPLOADS.batch_size() // (2 * FRAME_SIZE)


def _hash_all(hasher: BodyHasher) -> Update:
    def update(chunks: list[bytes]) -> None:
        for chunk in chunks:
            hasher.update(chunk)

    return update


def _digesting(
    backend: Backend, sealing: Sealing | None, compression: str, length: int | None
) -> Digesting | None:
    """The backend, if its store will tell the MD5 of this blob: only of a plaintext one."""
    store = as_digesting(backend) if sealing is None and compression == "off" else None
    return store if store is not None and store.digests(length) else None


async def _stored_md5(services: Services, blob_id: str) -> bytes:
    """The MD5 of a stored blob, read back: for a store whose answer did not tell it."""
    hasher = BodyHasher(None, sha256=False)
    async for _ in hashed_behind(services.backend.get_blob(blob_id), _hash_all(hasher)):
        pass
    return hasher.md5_digest()


async def discard_blob(services: Services, blob_id: str) -> None:
    """Delete a blob that will never be committed; shielded so cancellation can't skip it.
    An inline one (blob_id "") has nothing stored."""
    if not blob_id:
        return

    async def _discard() -> None:
        try:
            await services.backend.delete_blob(blob_id)
        except BackendError as exc:
            # The blob may exist (the backend failed after storing it): it stays pending,
            # so the collector deletes it after --pending-ttl. Forgetting it now would
            # leave an orphan only `admin scrub` finds. The caller's own error propagates.
            log.warning("cannot delete discarded blob %s (the collector will): %s", blob_id, exc)
            return
        await services.meta.drop_pending_blob(blob_id)

    await asyncio.shield(_discard())


async def _read_up_to(
    source: AsyncIterable[bytes], limit: int
) -> tuple[list[bytes], AsyncIterator[bytes] | None]:
    """The chunks of `source` while they total at most `limit` bytes. Returns the rest of
    the stream (its first chunk is the last one in the list) if it went past, else None."""
    it = aiter(source)
    chunks: list[bytes] = []
    total = 0
    async for chunk in it:
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return chunks, it
    return chunks, None


async def _chained(head: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _segment_codec(
    sealing: Sealing | None, sealed: tuple[str, str] | None, compressed: bool, stored_size: int
) -> SegmentCodec | None:
    if sealed is None and not compressed:
        return None
    key, sid = sealed or ("", "")
    return SegmentCodec(
        None if sealing is None else sealing.mode,
        key,
        sid,
        FRAME_SIZE,
        stored_size,
        ZSTD if compressed else None,
        None if sealing is None else sealing.kms,
    )


async def _store_inline(
    chunks: list[bytes],
    *,
    checksum_algorithm: str | None,
    verify: Callable[[BodyHasher], None] | None,
    sealing: Sealing | None,
    compression: str,
) -> StoredBlob:
    """A whole small body (at most the inline limit) as StoredBlob.inline_data."""
    data = b"".join(chunks)
    hasher = BodyHasher(checksum_algorithm, sha256=False)
    hasher.update(data)
    if verify is not None:
        verify(hasher)
    stored = data
    codec = None
    if sealing is not None or compression != "off":
        cipher: FrameCipher | None = None
        sealed: tuple[str, str] | None = None
        if sealing is not None:
            sealed_key, segment_id, cipher = new_data_key(sealing.kek)
            sealed = sealed_key, segment_id
        compressed = [False]
        stored = b"".join([p async for p in _coded(_one(data), cipher, compression, compressed)])
        codec = _segment_codec(sealing, sealed, compressed[0], len(stored))
        if compressed[0]:
            COMPRESSION_SAVED.inc(max(len(data) - len(stored), 0))
    return StoredBlob(
        blob_id="",
        size=len(data),
        md5_hex=hasher.md5_hex(),
        md5_b64=hasher.md5_b64(),
        checksum_algorithm=checksum_algorithm,
        checksum_b64=hasher.checksum_b64(),
        codec=codec,
        inline_data=stored,
    )


async def store_blob(
    services: Services,
    source: AsyncIterable[bytes],
    *,
    checksum_algorithm: str | None,
    verify: Callable[[BodyHasher], None] | None = None,
    sealing: Sealing | None = None,
    compression: str = "off",
    inline_limit: int = 0,
    length: int | None = None,
) -> StoredBlob:
    """Stream `source` into a new pending blob; see the module docstring. With `sealing`,
    the blob holds sealed frames (gateway.codec.frames) under a new data key; with
    `compression` auto or on (gateway.compression), compressed frames. Sizes, ETag and
    checksums are of the plaintext. A body of at most `inline_limit` bytes is returned
    inline instead, with no blob. `length`, if known (the request's declared length),
    lets a remote backend stream a plaintext blob with known part lengths."""
    if inline_limit > 0:
        head, rest = await _read_up_to(source, inline_limit)
        if rest is None:
            return await _store_inline(
                head,
                checksum_algorithm=checksum_algorithm,
                verify=verify,
                sealing=sealing,
                compression=compression,
            )
        source = _chained(head, rest)
    blob_id = new_blob_id()
    await services.meta.add_pending_blob(blob_id, now=services.clock())
    digesting = _digesting(services.backend, sealing, compression, length)
    hasher = BodyHasher(checksum_algorithm, sha256=False, md5=digesting is None)
    stream: AsyncIterator[bytes] = (
        hashed_behind(source, _hash_all(hasher)) if hasher.hashes else aiter(source)
    )
    plain_size = [0]
    compressed = [False]
    sealed: tuple[str, str] | None = None
    cipher: FrameCipher | None = None
    if sealing is not None:
        sealed_key, segment_id, cipher = new_data_key(sealing.kek)
        sealed = sealed_key, segment_id
    plain_length = length  # the blob's length, while it is the plaintext's
    if sealing is not None or compression != "off":
        plain_length = None
        stream = _coded(_counted(stream, plain_size), cipher, compression, compressed)
    md5: bytes | None = None  # the store's, if it digests
    try:
        with UPLOADS.upload():  # the whole body streams through put_blob
            if digesting is None:
                size = await services.backend.put_blob(blob_id, stream, plain_length)
            else:
                size, md5 = await digesting.put_blob_digested(blob_id, stream, plain_length)
    except BackendError:
        # The store failed: put_blob cleaned up what it could, and what it could not stays
        # pending for the collector. Another delete here would only keep the client
        # waiting through a second round of retries against a store that is down.
        raise
    except BaseException:
        await discard_blob(services, blob_id)
        raise
    try:
        if digesting is not None:
            hasher.given_md5(md5 if md5 is not None else await _stored_md5(services, blob_id))
        if verify is not None:
            verify(hasher)
    except BaseException:
        await discard_blob(services, blob_id)
        raise
    codec = _segment_codec(sealing, sealed, compressed[0], size)
    if codec is not None:
        if compressed[0]:
            COMPRESSION_SAVED.inc(max(plain_size[0] - size, 0))
        size = plain_size[0]
    elif compression != "off":
        size = plain_size[0]
    return StoredBlob(
        blob_id=blob_id,
        size=size,
        md5_hex=hasher.md5_hex(),
        md5_b64=hasher.md5_b64(),
        checksum_algorithm=checksum_algorithm,
        checksum_b64=hasher.checksum_b64(),
        codec=codec,
    )
