"""Quotas as values, and the one rule deciding whether a write goes over one.

A quota limits a bucket, or every bucket an account owns, in bytes and/or object versions
(delete markers are not counted, as in bucket_usage). A write that moves usage by `delta`
is refused when, after it, a limited dimension is over its limit *and* the write grew that
dimension: an overwrite that shrinks a bucket already over a lowered quota still goes
through, and deletes are never refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["bucket", "account"]
SCOPES: tuple[Scope, ...] = ("bucket", "account")


@dataclass(frozen=True)
class Usage:
    objects: int = 0
    bytes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.objects + other.objects, self.bytes + other.bytes)

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.objects - other.objects, self.bytes - other.bytes)


@dataclass(frozen=True)
class Quota:
    """Limits on one bucket or account; None: that dimension is unlimited."""

    scope: Scope
    name: str
    max_bytes: int | None = None
    max_objects: int | None = None


@dataclass(frozen=True)
class QuotaUse:
    """A quota and what its bucket (or account: the sum over its buckets) stores now."""

    quota: Quota
    used: Usage


def exceeded(quota: Quota, after: Usage, delta: Usage) -> str | None:
    """The dimension ("bytes" or "objects") a write moving usage by `delta` to `after`
    takes over `quota`, or None if it stays within."""
    if quota.max_bytes is not None and delta.bytes > 0 and after.bytes > quota.max_bytes:
        return "bytes"
    if quota.max_objects is not None and delta.objects > 0 and after.objects > quota.max_objects:
        return "objects"
    return None


def byte_allowance(uses: list[QuotaUse], released: int = 0) -> int | None:
    """How many bytes a body of unknown length may bring before it goes over a byte quota
    (None: no byte quota applies). `released`: bytes the write frees as it lands (the
    version an unversioned PUT replaces)."""
    room = [
        u.quota.max_bytes - u.used.bytes + released for u in uses if u.quota.max_bytes is not None
    ]
    return max(0, min(room)) if room else None


def describe(quota: Quota, dimension: str) -> str:
    """The QuotaExceeded message: which quota, and its limit."""
    limit = quota.max_bytes if dimension == "bytes" else quota.max_objects
    return f"The {quota.scope} quota of {quota.name} ({limit} {dimension}) is exceeded."
