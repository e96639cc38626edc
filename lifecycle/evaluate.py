"""What a lifecycle configuration makes due for one object version or upload at time t. Pure.

How this works. The worker (lifecycle/worker.py) walks a bucket's versions in key order,
newest first, and describes each one as VersionFacts: is it the current version, since
when is it noncurrent (S3 counts noncurrent days from the creation of its successor, the
next newer version), how many noncurrent versions are newer, and is it the key's only
version. due_for_version() then answers with at most one Due action:

    current version             Expiration Days/Date        -> EXPIRE (delete marker in a
                                                               versioned bucket, removal in
                                                               an unversioned one)
    current delete marker,      Expiration Days/Date (once  -> REMOVE ("expired object
      the key's only version      old enough), or              delete marker")
                                  ExpiredObjectDeleteMarker
    noncurrent version          NoncurrentVersionExpiration -> REMOVE, keeping the
                                  NoncurrentDays               NewerNoncurrentVersions newest
    any version but a current   the service's retention cap -> REMOVE
      marker hiding older ones    (--max-retention-days)

Day arithmetic follows S3: "adding the number of days specified in the rule to the object
creation time and rounding the resulting time to the next day's midnight UTC"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html). With a
scaled day (KLOUDVAULT_LIFECYCLE_DAY_SECONDS, for tests, like Ceph's rgw_lc_debug_interval)
a day lasts that many seconds and nothing is rounded. Expiration Date is absolute.

Whether a due REMOVE is allowed (object lock, legal hold) is not decided here: the store
re-checks it in the transaction that would remove the version.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from lifecycle.rules import Rule

DAY = 86400.0
MAX_RETENTION_RULE_ID = "kloudvault-max-retention"


class Action(Enum):
    EXPIRE = "expire"  # the current version stops being current
    REMOVE = "remove"  # this version is removed for good
    ABORT_UPLOAD = "abort-upload"


class Reason(Enum):
    """Why an action is due: the label of logs and metrics."""

    EXPIRATION = "expiration"
    EXPIRED_DELETE_MARKER = "expired-delete-marker"
    NONCURRENT_EXPIRATION = "noncurrent-expiration"
    RETENTION_CAP = "retention-cap"
    ABORT_INCOMPLETE_UPLOAD = "abort-incomplete-upload"


@dataclass(frozen=True)
class Due:
    action: Action
    reason: Reason
    rule_id: str
    at: float  # when it became due


@dataclass(frozen=True)
class Timing:
    """How long a day is, and the service-wide retention cap in days (None: no cap)."""

    day_seconds: float = DAY
    max_retention_days: int | None = None

    def after_days(self, start: float, days: int) -> float:
        if self.day_seconds == DAY:
            return (math.floor((start + days * DAY) / DAY) + 1) * DAY
        return start + days * self.day_seconds


@dataclass(frozen=True)
class VersionFacts:
    key: str
    created: float  # the version's last_modified
    size: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)
    is_delete_marker: bool = False
    is_latest: bool = True
    noncurrent_since: float | None = None  # the successor's creation; None when current
    newer_noncurrent: int = 0  # noncurrent versions of the key newer than this one
    sole: bool = False  # the key's only version


def _applicable(rules: Iterable[Rule], key: str, size: int, tags: Mapping[str, str]) -> list[Rule]:
    return [r for r in rules if r.enabled and r.conditions.matches(key, size, tags)]


def _candidates(rules: Sequence[Rule], v: VersionFacts, timing: Timing) -> list[Due]:
    out: list[Due] = []
    for rule in _applicable(rules, v.key, v.size, v.tags):
        rid = rule.id or ""
        exp = rule.expiration
        if v.is_latest and not v.is_delete_marker:
            if exp is not None and exp.days is not None:
                at = timing.after_days(v.created, exp.days)
                out.append(Due(Action.EXPIRE, Reason.EXPIRATION, rid, at))
            if exp is not None and exp.date is not None:
                out.append(Due(Action.EXPIRE, Reason.EXPIRATION, rid, exp.date))
        elif v.is_latest:  # a current delete marker: expired when it is all that is left
            if not v.sole or exp is None:
                continue
            reason = Reason.EXPIRED_DELETE_MARKER
            if exp.expired_object_delete_marker:
                out.append(Due(Action.REMOVE, reason, rid, v.created))
            if exp.days is not None:
                out.append(Due(Action.REMOVE, reason, rid, timing.after_days(v.created, exp.days)))
            if exp.date is not None:
                out.append(Due(Action.REMOVE, reason, rid, exp.date))
        else:
            nve = rule.noncurrent_version_expiration
            if nve is None or v.noncurrent_since is None:
                continue
            keep = nve.newer_noncurrent_versions
            if keep is not None and v.newer_noncurrent < keep:
                continue
            at = timing.after_days(v.noncurrent_since, nve.noncurrent_days)
            out.append(Due(Action.REMOVE, Reason.NONCURRENT_EXPIRATION, rid, at))
    cap = timing.max_retention_days
    # A current delete marker with older versions under it stays: removing it would bring
    # them back. They are older, so the cap removes them first; the marker follows.
    if cap is not None and not (v.is_latest and v.is_delete_marker and not v.sole):
        at = timing.after_days(v.created, cap)
        out.append(Due(Action.REMOVE, Reason.RETENTION_CAP, MAX_RETENTION_RULE_ID, at))
    return out


def due_for_version(
    rules: Sequence[Rule], version: VersionFacts, now: float, timing: Timing = Timing()
) -> Due | None:
    """The action due for `version` at `now`, or None.

    Removal wins over expiry (it goes further); among actions of one kind the one due
    first is reported.
    """
    due = [d for d in _candidates(rules, version, timing) if d.at <= now]
    if not due:
        return None
    return min(due, key=lambda d: (d.action is not Action.REMOVE, d.at))


def current_expiration(
    rules: Sequence[Rule],
    *,
    key: str,
    size: int,
    tags: Mapping[str, str],
    created: float,
    timing: Timing = Timing(),
) -> tuple[float, str] | None:
    """(expiry time, rule id) of a current object version: the x-amz-expiration header."""
    facts = VersionFacts(key=key, created=created, size=size, tags=tags)
    times = [(d.at, d.rule_id) for d in _candidates(rules, facts, timing)]
    return min(times, default=None)


def due_for_upload(
    rules: Sequence[Rule], *, key: str, initiated: float, now: float, timing: Timing = Timing()
) -> Due | None:
    """AbortIncompleteMultipartUpload (or the retention cap) for an upload in progress."""
    out: list[Due] = []
    for rule in rules:
        abort = rule.abort_incomplete_multipart_upload
        if abort is None or not rule.enabled or not rule.conditions.matches_upload(key):
            continue
        at = timing.after_days(initiated, abort.days_after_initiation)
        out.append(Due(Action.ABORT_UPLOAD, Reason.ABORT_INCOMPLETE_UPLOAD, rule.id or "", at))
    if timing.max_retention_days is not None:
        at = timing.after_days(initiated, timing.max_retention_days)
        out.append(Due(Action.ABORT_UPLOAD, Reason.RETENTION_CAP, MAX_RETENTION_RULE_ID, at))
    return min((d for d in out if d.at <= now), key=lambda d: d.at, default=None)


def scans_versions(rules: Sequence[Rule], timing: Timing) -> bool:
    """Whether any version of the bucket can become due (else its scan is skipped)."""
    if timing.max_retention_days is not None:
        return True
    return any(
        r.enabled and (r.expiration is not None or r.noncurrent_version_expiration is not None)
        for r in rules
    )


def scans_uploads(rules: Sequence[Rule], timing: Timing) -> bool:
    if timing.max_retention_days is not None:
        return True
    return any(r.enabled and r.abort_incomplete_multipart_upload is not None for r in rules)
