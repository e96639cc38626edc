"""Helpers for tests of versioned buckets: listing every version, emptying for good, and
waiting for the lifecycle worker."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def all_versions(s3: Any, bucket: str, prefix: str = "") -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is delete marker) of every version, in listing order."""
    out: list[tuple[str, str, bool, bool]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        entries = [(v, False) for v in page.get("Versions", [])]
        entries += [(m, True) for m in page.get("DeleteMarkers", [])]
        # boto3 splits the interleaved list in two; key order, then newest first, restores
        # it (generated version ids sort by creation time to the microsecond).
        entries.sort(key=lambda e: str(e[0]["VersionId"]), reverse=True)
        entries.sort(key=lambda e: (e[0]["Key"], -e[0]["LastModified"].timestamp()))
        out += [(e["Key"], e["VersionId"], e["IsLatest"], marker) for e, marker in entries]
    return out


def purge_bucket(s3: Any, bucket: str) -> None:
    """Remove every version (bypassing GOVERNANCE retention, lifting legal holds), every
    upload, and the bucket; report, never raise (COMPLIANCE-locked versions stay)."""
    try:
        for key, version_id, _, _ in all_versions(s3, bucket):
            try:
                s3.put_object_legal_hold(
                    Bucket=bucket, Key=key, VersionId=version_id, LegalHold={"Status": "OFF"}
                )
            except Exception:
                pass  # not a lock bucket, or a delete marker
            s3.delete_object(
                Bucket=bucket, Key=key, VersionId=version_id, BypassGovernanceRetention=True
            )
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        s3.delete_bucket(Bucket=bucket)
    except Exception as exc:
        print(f"cleanup of {bucket} failed: {exc!r}", file=sys.stderr)


def wait_for(probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 30.0) -> T:
    """Call probe() until done(result); the last result (the test asserts on it)."""
    deadline = time.monotonic() + timeout
    result = probe()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(0.2)
        result = probe()
    return result
