"""The scrubber: do the metadata and the backend agree? (`kloudvault admin scrub`)

How this works, in two passes that each hold one page in memory:

    missing   meta.referenced_blobs() page by page ──► backend.blob_size() of each id,
              CHECKS_IN_FLIGHT at a time ──► BlobNotFound, and the blob is still
              referenced afterwards: a version or upload part whose bytes are gone
    orphans   backend.list_blobs() in batches ──► meta.known_blobs(batch) ──► a blob
              neither referenced nor pending nor garbage, and still there afterwards:
              space no collector will ever reclaim

Both passes are safe while gateways serve. The write path records a blob as pending
before its first byte reaches the backend, and the collector deletes a blob before it
forgets it, so a blob the backend holds is known to the metadata for as long as anything
may use it; blob ids are never reused. The re-checks above drop what a concurrent delete
or collection explains: a referenced blob that is both missing and no longer referenced
was collected, an unknown blob that is gone by the time we look again was too.

Orphans come from a delete that failed while the backend was down, a metadata restore
older than the blobs, or a second deployment writing under the same bucket and prefix.
With delete_orphans, the orphans older than `orphan_grace` seconds (by the backend's
modification time; an orphan of unknown age is kept) are deleted, unless pass one found
missing blobs: a metadata store and a backend that disagree both ways are more likely
two things that do not belong together (a wrong --metadata-url or --s3-prefix) than
garbage, and then nothing is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from backends.base import Backend, BlobInfo, BlobNotFound
from gateway.meta.base import MetaStore

PAGE = 1000
CHECKS_IN_FLIGHT = 16
LISTED_AT_MOST = 1000  # ids a report keeps of each kind; the counts are exact


@dataclass
class ScrubReport:
    referenced: int = 0  # referenced blob ids checked
    missing_count: int = 0
    missing: list[str] = field(default_factory=list)  # the first LISTED_AT_MOST
    listed: int = 0  # blobs the backend listed
    orphan_count: int = 0
    orphan_bytes: int = 0
    orphans: list[BlobInfo] = field(default_factory=list)  # the first LISTED_AT_MOST
    deleted: int = 0
    deleted_bytes: int = 0
    kept_young: int = 0  # orphans not deleted: younger than the grace, or of unknown age
    deletion_refused: bool = False  # delete_orphans asked, but blobs are missing

    @property
    def healthy(self) -> bool:
        """No referenced blob is missing (orphans waste space but lose nothing)."""
        return not self.missing_count

    def lines(self) -> list[str]:
        out = [f"missing blob {blob_id}" for blob_id in self.missing]
        if self.missing_count > len(self.missing):
            out.append(f"... and {self.missing_count - len(self.missing)} more missing")
        out += [f"orphan blob {o.blob_id} ({o.size} bytes)" for o in self.orphans]
        if self.orphan_count > len(self.orphans):
            out.append(f"... and {self.orphan_count - len(self.orphans)} more orphans")
        out.append(
            f"scrub: {self.referenced} referenced blobs checked, {self.missing_count} missing"
        )
        summary = (
            f"scrub: {self.listed} backend blobs listed, {self.orphan_count} orphans"
            f" ({self.orphan_bytes} bytes)"
        )
        if self.deleted or self.kept_young:
            summary += f", {self.deleted} deleted ({self.deleted_bytes} bytes)"
            summary += f", {self.kept_young} kept (younger than the grace or of unknown age)"
        out.append(summary)
        if self.deletion_refused:
            out.append(
                "scrub: orphans NOT deleted: referenced blobs are missing, so the metadata"
                " and the backend may not belong together (check --metadata-url and the"
                " backend settings)"
            )
        return out


async def find_missing(
    meta: MetaStore, backend: Backend, report: ScrubReport, *, page: int = PAGE
) -> None:
    """Pass one: referenced blobs the backend does not have."""
    limiter = asyncio.Semaphore(CHECKS_IN_FLIGHT)
    after = ""
    while True:
        ids = await meta.referenced_blobs(after, page)
        report.referenced += len(ids)
        present = await asyncio.gather(*(_exists(backend, b, limiter) for b in ids))
        for blob_id, is_present in zip(ids, present, strict=True):
            # Still referenced after we saw it missing: no concurrent delete explains it.
            if not is_present and await meta.blob_is_referenced(blob_id):
                report.missing_count += 1
                if len(report.missing) < LISTED_AT_MOST:
                    report.missing.append(blob_id)
        if len(ids) < page:
            return
        after = ids[-1]


async def find_orphans(
    meta: MetaStore,
    backend: Backend,
    report: ScrubReport,
    *,
    delete_before: float | None,
    page: int = PAGE,
) -> None:
    """Pass two: backend blobs the metadata does not account for; with delete_before,
    delete those last modified before it."""
    batch: list[BlobInfo] = []
    async for info in backend.list_blobs():
        report.listed += 1
        batch.append(info)
        if len(batch) >= page:
            await _orphans_in(meta, backend, batch, report, delete_before)
            batch = []
    if batch:
        await _orphans_in(meta, backend, batch, report, delete_before)


async def _orphans_in(
    meta: MetaStore,
    backend: Backend,
    batch: Sequence[BlobInfo],
    report: ScrubReport,
    delete_before: float | None,
) -> None:
    known = await meta.known_blobs([info.blob_id for info in batch])
    unknown = [info for info in batch if info.blob_id not in known]
    limiter = asyncio.Semaphore(CHECKS_IN_FLIGHT)
    present = await asyncio.gather(*(_exists(backend, i.blob_id, limiter) for i in unknown))
    deletions = []
    for info, is_present in zip(unknown, present, strict=True):
        if not is_present:  # collected while we listed
            continue
        report.orphan_count += 1
        report.orphan_bytes += info.size
        if len(report.orphans) < LISTED_AT_MOST:
            report.orphans.append(info)
        if delete_before is None:
            continue
        if info.modified is None or info.modified >= delete_before:
            report.kept_young += 1
            continue
        deletions.append(_delete(backend, info, report, limiter))
    await asyncio.gather(*deletions)


async def _exists(backend: Backend, blob_id: str, limiter: asyncio.Semaphore) -> bool:
    async with limiter:
        try:
            await backend.blob_size(blob_id)
        except BlobNotFound:
            return False
    return True


async def _delete(
    backend: Backend, info: BlobInfo, report: ScrubReport, limiter: asyncio.Semaphore
) -> None:
    async with limiter:
        await backend.delete_blob(info.blob_id)
    report.deleted += 1
    report.deleted_bytes += info.size


async def scrub(
    meta: MetaStore,
    backend: Backend,
    *,
    delete_orphans: bool = False,
    orphan_grace: float = 86400.0,
    clock: Callable[[], float],
    page: int = PAGE,
) -> ScrubReport:
    """Both passes; see the module docstring. Backend and metadata errors propagate."""
    report = ScrubReport()
    await find_missing(meta, backend, report, page=page)
    delete_before: float | None = None
    if delete_orphans:
        if report.missing_count:
            report.deletion_refused = True
        else:
            delete_before = clock() - orphan_grace
    await find_orphans(meta, backend, report, delete_before=delete_before, page=page)
    return report
