"""Object Lock: the models and the rules of retention and legal holds. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html

A version is *protected* while it is under legal hold, or while its retain-until date is
in the future. A protected version can never be removed (DeleteObject with a version id,
a lifecycle rule, the service's retention cap); only GOVERNANCE retention yields, and only
to a request with x-amz-bypass-governance-retention: true. A DeleteObject without a
version id never removes data (it adds a delete marker), so it is always allowed.

Changing retention: COMPLIANCE can be extended but never shortened, removed or turned
into GOVERNANCE; GOVERNANCE can be extended or made COMPLIANCE, and anything else needs
the bypass header. An expired retention no longer constrains anything.

Object lock lives only in buckets created with it (or that turned it on while versioned);
they stay versioning Enabled, so a PUT never replaces a protected version: it adds one.

A write (PutObject, CopyObject, CreateMultipartUpload) gives its new version tags and a
lock from its headers (WriteRetention), or else the bucket's default retention as of the
version's creation; a completed multipart upload takes its CreateMultipartUpload's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypedDict

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, ObjectVersion, RemovalCheck, RetentionFields
from gateway.s3.headers import iso8601
from gateway.values import quick_init

GOVERNANCE = "GOVERNANCE"
COMPLIANCE = "COMPLIANCE"
MODES = (GOVERNANCE, COMPLIANCE)
DAY = 86400.0
YEAR_DAYS = 365
MAX_DEFAULT_DAYS = 100 * YEAR_DAYS
BYPASS_HEADER = "x-amz-bypass-governance-retention"

MODE_HEADER = "x-amz-object-lock-mode"
UNTIL_HEADER = "x-amz-object-lock-retain-until-date"
LEGAL_HOLD_HEADER = "x-amz-object-lock-legal-hold"

# The bucket configuration document holding the ObjectLockConfiguration.
OBJECT_LOCK = "object-lock"

_PROTECTED = "Access Denied because object protected by object lock."
_NO_LOCK = "Bucket is missing Object Lock Configuration"


@dataclass(frozen=True)
class DefaultRetention:
    """The retention every new version of a lock bucket gets unless its PUT names one."""

    mode: str
    days: int | None = None
    years: int | None = None

    @property
    def period_days(self) -> int:
        return self.days if self.days is not None else (self.years or 0) * YEAR_DAYS


@dataclass(frozen=True)
class ObjectLockConfiguration:
    """PutObjectLockConfiguration / GetObjectLockConfiguration body."""

    enabled: bool = True
    default_retention: DefaultRetention | None = None


@dataclass(frozen=True)
class Retention:
    """PutObjectRetention / GetObjectRetention body; both None: no retention."""

    mode: str | None = None
    retain_until: float | None = None


@dataclass(frozen=True)
class LegalHold:
    """PutObjectLegalHold / GetObjectLegalHold body."""

    on: bool


@quick_init
@dataclass(frozen=True)
class LockRequest:
    """What the x-amz-object-lock-* headers of a write ask for."""

    mode: str | None = None
    retain_until: float | None = None
    legal_hold: bool | None = None  # None: header absent

    @property
    def empty(self) -> bool:
        return self.mode is None and self.legal_hold is None


def require_object_lock(bucket: Bucket) -> None:
    if not bucket.object_lock:
        raise S3Error(S3ErrorCode.INVALID_REQUEST, _NO_LOCK)


# -- validation -------------------------------------------------------------------------------


def validate_configuration(config: ObjectLockConfiguration) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html"""
    if not config.enabled:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    rule = config.default_retention
    if rule is None:
        return
    if rule.mode not in MODES or (rule.days is None) == (rule.years is None):
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if not 0 < rule.period_days <= MAX_DEFAULT_DAYS:
        raise S3Error(S3ErrorCode.INVALID_RETENTION_PERIOD)


def parse_timestamp(value: str) -> float | None:
    """An ISO 8601 date-time (x-amz-object-lock-retain-until-date, RetainUntilDate)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _future(until: float, now: float) -> None:
    if until <= now:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "The retain until date must be in the future!")


def parse_lock_headers(headers: Mapping[str, str], *, now: float) -> LockRequest:
    """The x-amz-object-lock-* headers of PutObject, CopyObject, CreateMultipartUpload."""
    mode = headers.get(MODE_HEADER)
    until_raw = headers.get(UNTIL_HEADER)
    hold_raw = headers.get(LEGAL_HOLD_HEADER)
    if (mode is None) != (until_raw is None):
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    until: float | None = None
    if mode is not None and until_raw is not None:
        if mode not in MODES:
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "Unknown wormMode directive.",
                ArgumentName=MODE_HEADER,
                ArgumentValue=mode,
            )
        until = parse_timestamp(until_raw)
        if until is None:
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "The retain until date is not a valid ISO 8601 date",
                ArgumentName=UNTIL_HEADER,
                ArgumentValue=until_raw,
            )
        _future(until, now)
    hold: bool | None = None
    if hold_raw is not None:
        if hold_raw not in ("ON", "OFF"):
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "Legal Hold must be either of 'ON' or 'OFF'",
                ArgumentName=LEGAL_HOLD_HEADER,
                ArgumentValue=hold_raw,
            )
        hold = hold_raw == "ON"
    return LockRequest(mode, until, hold)


def bypass_requested(headers: Mapping[str, str]) -> bool:
    return headers.get(BYPASS_HEADER, "").strip().lower() == "true"


# -- what a lock allows -----------------------------------------------------------------------


def retention_active(version: ObjectVersion, now: float) -> bool:
    return version.retain_until is not None and version.retain_until > now


def is_protected(version: ObjectVersion, *, now: float, bypass_governance: bool = False) -> bool:
    """Whether removing `version` is forbidden (see the module docstring)."""
    if version.legal_hold:
        return True
    if not retention_active(version, now):
        return False
    return version.retention_mode == COMPLIANCE or not bypass_governance


def check_removal(version: ObjectVersion, *, now: float, bypass_governance: bool = False) -> None:
    """Raise AccessDenied if `version` may not be removed."""
    if is_protected(version, now=now, bypass_governance=bypass_governance):
        raise S3Error(S3ErrorCode.ACCESS_DENIED, _PROTECTED)


def check_retention_change(
    version: ObjectVersion, new: Retention, *, now: float, bypass_governance: bool
) -> None:
    """Raise unless `version`'s retention may become `new` (PutObjectRetention)."""
    if new.retain_until is not None:
        _future(new.retain_until, now)
    if not retention_active(version, now):
        return
    assert version.retain_until is not None
    # Only the same mode kept or extended is "stricter" without the bypass: GOVERNANCE
    # becoming COMPLIANCE is a change of lock settings, which governance mode keeps for
    # callers with s3:BypassGovernanceRetention who send the bypass header.
    stricter = (
        new.retain_until is not None
        and new.retain_until >= version.retain_until
        and new.mode == version.retention_mode
    )
    if stricter:
        return
    if version.retention_mode == GOVERNANCE and bypass_governance:
        return
    raise S3Error(S3ErrorCode.ACCESS_DENIED, _PROTECTED)


def default_until(rule: DefaultRetention, now: float) -> float:
    return now + rule.period_days * DAY


def lock_headers(version: ObjectVersion) -> dict[str, str]:
    """x-amz-object-lock-* response headers of GetObject/HeadObject."""
    out: dict[str, str] = {}
    if version.retention_mode is not None and version.retain_until is not None:
        out[MODE_HEADER] = version.retention_mode
        out[UNTIL_HEADER] = iso8601(version.retain_until)
    if version.legal_hold:
        out[LEGAL_HOLD_HEADER] = "ON"
    return out


def removal_check(*, now: float, bypass_governance: bool) -> RemovalCheck:
    """DeleteObject(s) with a version id: object lock may refuse (AccessDenied)."""

    def check(version: ObjectVersion, *, sole: bool) -> None:
        check_removal(version, now=now, bypass_governance=bypass_governance)

    return check


# -- what a write gives its new version -------------------------------------------------------


@quick_init
@dataclass(frozen=True)
class WriteRetention:
    """The tags and lock a write asks for (x-amz-tagging, x-amz-object-lock-*), and the
    bucket's default retention that applies when it names none."""

    tags: Mapping[str, str]
    lock: LockRequest
    default: DefaultRetention | None = None

    def fields(self, now: float) -> RetentionFields:
        mode, until = self.lock.mode, self.lock.retain_until
        if mode is None and self.default is not None:
            mode, until = self.default.mode, default_until(self.default, now)
        return RetentionFields(dict(self.tags), mode, until, bool(self.lock.legal_hold))

    def explicit(self) -> RetentionFields:
        """What the request itself asked for (a multipart upload's, kept for its Complete)."""
        return RetentionFields(
            dict(self.tags), self.lock.mode, self.lock.retain_until, bool(self.lock.legal_hold)
        )


def write_retention(
    bucket: Bucket,
    tags: Mapping[str, str],
    headers: Mapping[str, str],
    default: DefaultRetention | None,
    *,
    now: float,
) -> WriteRetention:
    """A write's WriteRetention; InvalidRequest for lock headers on a bucket without lock."""
    lock = parse_lock_headers(headers, now=now)
    if not lock.empty:
        require_object_lock(bucket)
    return WriteRetention(tags, lock, default)


def completed_upload_fields(
    stored: RetentionFields, default: DefaultRetention | None, now: float
) -> RetentionFields:
    """A completing upload's tags and lock: its CreateMultipartUpload's (`stored`), else
    the bucket's default retention as of now."""
    if stored.retention_mode is not None or default is None:
        return stored
    return replace(stored, retention_mode=default.mode, retain_until=default_until(default, now))


class VersionRetention(TypedDict):
    """RetentionFields as ObjectVersion's keyword arguments."""

    tags: Mapping[str, str]
    retention_mode: str | None
    retain_until: float | None
    legal_hold: bool


def version_retention(fields: RetentionFields) -> VersionRetention:
    """`fields` for a new ObjectVersion(**...) (a PUT builds its version with them)."""
    return {
        "tags": dict(fields.tags),
        "retention_mode": fields.retention_mode,
        "retain_until": fields.retain_until,
        "legal_hold": fields.legal_hold,
    }


def with_retention(version: ObjectVersion, fields: RetentionFields) -> ObjectVersion:
    return replace(version, **version_retention(fields))
