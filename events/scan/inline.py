"""--scan-mode inline: the new object is scanned as it is written, and refused if infected.

PutObject, POST Object and CopyObject tee the plaintext, chunk by chunk, to one clamd
INSTREAM session while gateway.writepath streams it into the backend (never buffered
whole: clamd spools it). When the body has ended and the blob is stored, clamd's verdict
decides, before anything is committed:

    clean                      the caller commits the version as usual
    infected                   the blob is discarded, 403 AccessDenied naming the signature
    not scanned (--scan-fail)  open: logged and committed; closed: the blob is discarded,
                               and 503 ServiceUnavailable (clamd down: retry later),
                               400 EntityTooLarge (past clamd's StreamMaxLength), or 403
                               AccessDenied (cannot be read back: SSE-C multipart)

CompleteMultipartUpload has its parts stored already: `check_version` reads them back
(events/scan/stored.py) before the commit; an infected upload is aborted, so its parts'
blobs go to garbage.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

from events.scan.clamd import ClamdClient, ScanSession
from events.scan.protocol import Clean, Infected, ScanFailed, Verdict
from events.scan.stored import scan_version
from gateway.codec.checksums import BodyHasher
from gateway.codec.keys import Sealing
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.writepath import StoredBlob, discard_blob, store_blob

log = logging.getLogger(__name__)


def inline_scanner(services: Services) -> ClamdClient | None:
    """The scanner, when new objects are scanned inline."""
    if services.settings.scan_mode != "inline":
        return None
    return services.scanner


async def _tee(source: AsyncIterable[bytes], session: ScanSession) -> AsyncIterator[bytes]:
    async for chunk in source:
        await session.feed(chunk)
        yield chunk


async def store_scanned(
    services: Services,
    source: AsyncIterable[bytes],
    *,
    checksum_algorithm: str | None,
    verify: Callable[[BodyHasher], None] | None = None,
    sealing: Sealing | None = None,
    compression: str = "off",
    subject: str = "",
    inline_limit: int = 0,
    length: int | None = None,
) -> StoredBlob:
    """gateway.writepath.store_blob, with the plaintext scanned on its way (inline mode);
    raises the verdict's S3Error with the blob discarded. `subject` names it in logs."""
    scanner = inline_scanner(services)
    store: dict[str, Any] = {
        "checksum_algorithm": checksum_algorithm,
        "verify": verify,
        "sealing": sealing,
        "compression": compression,
        "inline_limit": inline_limit,
        "length": length,
    }
    if scanner is None:
        return await store_blob(services, source, **store)
    async with scanner.session() as session:
        stored = await store_blob(services, _tee(source, session), **store)
        try:
            verdict = await session.finish()
            judge(services, verdict, subject)
        except BaseException:
            await discard_blob(services, stored.blob_id)
            raise
    return stored


async def check_version(
    services: Services,
    version: ObjectVersion,
    on_infected: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Inline mode: raise the verdict's S3Error about a version not yet committed, after
    awaiting `on_infected()` if it is infected."""
    scanner = inline_scanner(services)
    if scanner is None:
        return
    verdict = await scan_version(services, scanner, version)
    if isinstance(verdict, Infected) and on_infected is not None:
        await on_infected()
    judge(services, verdict, f"{version.bucket}/{version.key}")


def judge(services: Services, verdict: Verdict, subject: str) -> None:
    """Nothing for a clean object (or an unscanned one under --scan-fail open); else the
    S3Error that refuses it."""
    if isinstance(verdict, Clean):
        return
    if isinstance(verdict, Infected):
        log.warning("refused %s: infected (%s)", subject, verdict.signature)
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED,
            f"The object was refused by the malware scan: {verdict.signature}",
        )
    assert isinstance(verdict, ScanFailed)
    if services.settings.scan_fail == "open":
        log.warning("accepted %s unscanned (--scan-fail open): %s", subject, verdict.reason)
        return
    log.warning("refused %s unscanned (--scan-fail closed): %s", subject, verdict.reason)
    if verdict.too_large:
        raise S3Error(
            S3ErrorCode.ENTITY_TOO_LARGE,
            "The object is larger than the malware scanner accepts.",
        )
    if verdict.permanent:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, "The object cannot be scanned for malware.")
    raise S3Error(
        S3ErrorCode.SERVICE_UNAVAILABLE, "The malware scanner is unavailable. Please retry."
    )
