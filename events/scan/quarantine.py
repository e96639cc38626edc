"""What an object that failed its scan becomes (--scan-mode async): quarantined.

A quarantined version carries the tag `kloudvault-scan=infected` (or `=unscanned`, when
clamd refused to scan it and --scan-fail is closed) and `kloudvault-scan-signature` with
the signature's name (or the reason), and a legal hold where the bucket has object lock
(elsewhere no API could lift it, and the owner could never delete the object). Only the
bucket's own account (and the administrator) may still read it: gateway/access.py treats
the tag as an explicit Deny of s3:GetObject(Version) for everyone else, share links
included. The account lifts the quarantine by rewriting the tags (and the hold).

The "quarantined" event: every QuarantineHook registered on the worker
(events/scan/worker.py, `ScanWorker.on_quarantine`) is awaited with the version as
quarantined, once its tags are stored.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from gateway.meta.base import MetaStore, ObjectVersion

SCAN_TAG = "kloudvault-scan"
SIGNATURE_TAG = "kloudvault-scan-signature"
INFECTED = "infected"
UNSCANNED = "unscanned"
_QUARANTINED = frozenset({INFECTED, UNSCANNED})
# S3 tag values: letters, digits, spaces and + - = . _ : / @, at most 256 characters.
_NOT_IN_TAG = re.compile(r"[^\w +\-=.:/@]", re.ASCII)

# Awaited with the quarantined version and the status (INFECTED or UNSCANNED).
QuarantineHook = Callable[[ObjectVersion, str], Awaitable[None]]


def is_quarantined(version: ObjectVersion) -> bool:
    return version.tags.get(SCAN_TAG) in _QUARANTINED


def tag_value(text: str) -> str:
    return _NOT_IN_TAG.sub("_", text)[:256]


def quarantined(version: ObjectVersion, status: str, detail: str, *, hold: bool) -> ObjectVersion:
    """`version` with the quarantine tags (and, with `hold`, a legal hold)."""
    tags = {**version.tags, SCAN_TAG: status, SIGNATURE_TAG: tag_value(detail)}
    return replace(version, tags=tags, legal_hold=version.legal_hold or hold)


async def quarantine(
    meta: MetaStore, version: ObjectVersion, status: str, detail: str
) -> ObjectVersion | None:
    """Quarantine the stored `version`; None if it is gone meanwhile."""
    bucket = await meta.get_bucket(version.bucket)
    if bucket is None:
        return None
    hold = bucket.object_lock
    return await meta.update_version(
        version.bucket,
        version.key,
        version.version_id,
        lambda stored: quarantined(stored, status, detail, hold=hold),
    )
