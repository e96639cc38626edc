"""A PATCH's bytes onto the multipart upload behind a tus upload.

How bytes become parts (S3 wants every part but the last to hold at least 5 MiB, and a
tus client may send any number of bytes per PATCH: tus-js-client sends the whole file
in one unless told a chunkSize, and an interrupted PATCH keeps what arrived):

- While the upload's last part is under MIN_PART_SIZE, the next bytes go into a new
  blob holding that part's bytes (read back from its blob) followed by them, recorded
  as the same part number; the old blob goes to garbage. So a short PATCH costs one
  rewrite of at most 5 MiB, and a part only ever stays short if it is the last.
- Otherwise the bytes start the next part.
- A part grows to at most `part_limit` bytes (S3's 5 GiB); a longer body continues in
  the next part. With Upload-Checksum the body must fit in one part, so that nothing
  is stored before the checksum is known to match.

Each part is committed with the offset it brings the upload to, in one transaction
(MetaStore.append_tus_part), so HEAD's Upload-Offset is always what the parts hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from gateway.codec.keys import KekFor
from gateway.context import Services
from gateway.encryption import WriteKeys, part_keys
from gateway.meta.base import Part, Segment, TusUpload, Upload
from gateway.readpath import segment_stream
from gateway.s3.multipart import MAX_PART_SIZE, MIN_PART_SIZE
from gateway.tus.body import PatchBody
from gateway.tus.protocol import TusError
from gateway.writepath import StoredBlob, discard_blob, store_blob


async def _then(first: AsyncIterable[bytes], second: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in first:
        yield chunk
    async for chunk in second:
        yield chunk


async def _nothing() -> AsyncIterator[bytes]:
    empty: tuple[bytes, ...] = ()
    for chunk in empty:
        yield chunk


async def _last_part(services: Services, tus: TusUpload) -> Part:
    page = await services.meta.list_parts(
        tus.bucket,
        tus.key,
        tus.upload_id,
        part_number_marker=tus.part_number - 1,
        max_parts=1,
    )
    if not page.parts or page.parts[0].number != tus.part_number:
        raise TusError(409, "The upload changed under this request; ask HEAD for its offset")
    return page.parts[0]


def _part(number: int, stored: StoredBlob, now: float) -> Part:
    checksums = {}
    if stored.checksum_algorithm and stored.checksum_b64:
        checksums[stored.checksum_algorithm] = stored.checksum_b64
    return Part(number, stored.blob_id, stored.size, stored.md5_hex, now, checksums, stored.codec)


async def append(
    services: Services,
    upload: Upload,
    tus: TusUpload,
    body: PatchBody,
    *,
    part_limit: int = MAX_PART_SIZE,
) -> TusUpload:
    """Store the body's bytes as parts (module docstring); the upload as it then stands."""
    keys = await _part_keys(services, upload)
    sealing = keys.sealing
    kek: KekFor | None = None if sealing is None else (lambda _codec: sealing.kek)
    while await body.more():
        merging = tus.part_number > 0 and tus.part_size < MIN_PART_SIZE
        kept = tus.part_size if merging else 0
        piece = body.take(part_limit - kept)
        source: AsyncIterable[bytes] = piece
        if merging:
            last = await _last_part(services, tus)
            old = Segment(last.blob_id, last.size, codec=last.codec)
            source = _then(segment_stream(services.backend, old, kek), piece)
        stored = await store_blob(
            services,
            source,
            checksum_algorithm=upload.checksum_algorithm,
            sealing=keys.sealing,
        )
        try:
            ended = not await body.more()
            if body.checksum is not None:
                if not ended:
                    raise TusError(413, "A PATCH with Upload-Checksum must fit in one part")
                if body.interrupted:
                    raise TusError(400, "The body ended early: its checksum cannot be checked")
                if not body.checksum_matches():
                    raise TusError(460, "Upload-Checksum does not match the body")
            number = tus.part_number if merging else tus.part_number + 1
            part = _part(number, stored, services.clock())
            try:
                tus = await services.meta.append_tus_part(tus.token_hash, tus.offset, part)
            except KeyError:
                raise TusError(409, "Another PATCH moved the upload's offset") from None
        except BaseException:
            await discard_blob(services, stored.blob_id)
            raise
    return tus


async def _part_keys(services: Services, upload: Upload) -> WriteKeys:
    bucket = await services.meta.get_bucket(upload.bucket)
    if bucket is None:
        raise TusError(404, "The upload's bucket is gone")
    return await part_keys(services, upload, bucket, {})


async def empty_part(services: Services, upload: Upload, tus: TusUpload) -> TusUpload:
    """An upload of length 0 still completes with one (empty) part, as S3 wants one."""
    keys = await _part_keys(services, upload)
    stored = await store_blob(
        services, _nothing(), checksum_algorithm=upload.checksum_algorithm, sealing=keys.sealing
    )
    try:
        part = _part(1, stored, services.clock())
        return await services.meta.append_tus_part(tus.token_hash, tus.offset, part)
    except KeyError:
        await discard_blob(services, stored.blob_id)
        raise TusError(409, "Another PATCH moved the upload's offset") from None
    except BaseException:
        await discard_blob(services, stored.blob_id)
        raise
