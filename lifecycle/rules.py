"""Lifecycle configuration: the typed model of a bucket's rules and its validation. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html

The model keeps the shape the client sent (a <Filter> with one condition or an <And>, or
the legacy top-level <Prefix>), so GetBucketLifecycleConfiguration gives back what
PutBucketLifecycleConfiguration stored. gateway/xml/lifecycle.py parses and renders it;
lifecycle/evaluate.py decides what a rule makes due; validate() holds the rules S3 checks
beyond the XML schema. Storage class transitions are parsed and validated like the rest (a
bad Transition is the InvalidArgument S3 answers), and only then refused with NotImplemented:
KloudVault has one storage tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.tagging import Tag, validate_tags

MAX_RULES = 1000
MAX_ID_LENGTH = 255
MAX_NEWER_NONCURRENT = 100
DAY = 86400
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_Transition.html
STORAGE_CLASSES = frozenset(
    ("GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR")
)
INFREQUENT_ACCESS = frozenset(("STANDARD_IA", "ONEZONE_IA"))  # 30 days at least
MIN_INFREQUENT_ACCESS_DAYS = 30
ENABLED = "Enabled"
DISABLED = "Disabled"


@dataclass(frozen=True)
class And:
    """<And>: every condition must hold."""

    prefix: str | None = None
    tags: tuple[Tag, ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None


@dataclass(frozen=True)
class Filter:
    """<Filter>: at most one of the fields is set; none is the empty filter (every object)."""

    prefix: str | None = None
    tag: Tag | None = None
    size_greater_than: int | None = None
    size_less_than: int | None = None
    and_: And | None = None


@dataclass(frozen=True)
class Expiration:
    """Exactly one of the three is set. date: midnight UTC, in epoch seconds."""

    days: int | None = None
    date: float | None = None
    expired_object_delete_marker: bool | None = None


@dataclass(frozen=True)
class NoncurrentVersionExpiration:
    noncurrent_days: int
    newer_noncurrent_versions: int | None = None


@dataclass(frozen=True)
class AbortIncompleteMultipartUpload:
    days_after_initiation: int


@dataclass(frozen=True)
class Transition:
    """<Transition> (days or date) or <NoncurrentVersionTransition> (noncurrent: days is its
    NoncurrentDays). Never stored: validate() refuses a configuration holding one."""

    storage_class: str | None
    days: int | None = None
    date: float | None = None
    noncurrent: bool = False
    newer_noncurrent_versions: int | None = None


@dataclass(frozen=True)
class Rule:
    status: str
    id: str | None = None
    # Exactly one of filter and prefix (the legacy form) is set.
    filter: Filter | None = None
    prefix: str | None = None
    expiration: Expiration | None = None
    noncurrent_version_expiration: NoncurrentVersionExpiration | None = None
    abort_incomplete_multipart_upload: AbortIncompleteMultipartUpload | None = None
    transitions: tuple[Transition, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED

    @property
    def conditions(self) -> Conditions:
        return conditions_of(self)


@dataclass(frozen=True)
class LifecycleConfiguration:
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Conditions:
    """A rule's filter flattened: what an object must satisfy for the rule to apply."""

    prefix: str = ""
    tags: tuple[Tag, ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None

    def matches(self, key: str, size: int, tags: Mapping[str, str]) -> bool:
        if not key.startswith(self.prefix):
            return False
        if any(tags.get(t.key) != t.value for t in self.tags):
            return False
        if self.size_greater_than is not None and not size > self.size_greater_than:
            return False
        return self.size_less_than is None or size < self.size_less_than

    def matches_upload(self, key: str) -> bool:
        """Uploads have no tags or size yet: only the prefix applies to them."""
        return key.startswith(self.prefix)


def conditions_of(rule: Rule) -> Conditions:
    if rule.filter is None:
        return Conditions(prefix=rule.prefix or "")
    f = rule.filter
    if f.and_ is not None:
        a = f.and_
        return Conditions(a.prefix or "", a.tags, a.size_greater_than, a.size_less_than)
    return Conditions(
        prefix=f.prefix or "",
        tags=(f.tag,) if f.tag is not None else (),
        size_greater_than=f.size_greater_than,
        size_less_than=f.size_less_than,
    )


# -- validation -------------------------------------------------------------------------------


def _invalid(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_ARGUMENT, message)


def _request(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_REQUEST, message)


def _check_sizes(greater: int | None, less: int | None) -> None:
    for value in (greater, less):
        if value is not None and value < 0:
            raise _invalid("ObjectSize must be a non-negative integer")
    if greater is not None and less is not None and less <= greater:
        raise _invalid("ObjectSizeLessThan must be greater than ObjectSizeGreaterThan")


def _check_filter(rule: Rule) -> None:
    f = rule.filter
    if (f is None) == (rule.prefix is None):
        raise S3Error(S3ErrorCode.MALFORMED_XML)  # exactly one of Filter and Prefix
    if f is None:
        return
    set_fields = [
        f.prefix is not None,
        f.tag is not None,
        f.size_greater_than is not None,
        f.size_less_than is not None,
        f.and_ is not None,
    ]
    if sum(set_fields) > 1:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if f.tag is not None:
        validate_tags([f.tag])
    _check_sizes(f.size_greater_than, f.size_less_than)
    if f.and_ is not None:
        a = f.and_
        predicates = len(a.tags) + (a.prefix is not None)
        predicates += (a.size_greater_than is not None) + (a.size_less_than is not None)
        if predicates < 2:
            # "a logical AND to two or more predicates" (API_LifecycleRuleFilter); S3
            # answers an <And> with one predicate as a schema error.
            raise S3Error(S3ErrorCode.MALFORMED_XML)
        if a.tags:
            try:
                validate_tags(a.tags, limit=len(a.tags))
            except S3Error as exc:
                if "same key" in exc.message:
                    raise _request("Duplicate Tag Keys are not allowed.") from exc
                raise
        _check_sizes(a.size_greater_than, a.size_less_than)


def _check_transition(t: Transition) -> None:
    """The checks S3 makes of a transition (API_Transition): they come before the refusal
    of transitions, so a client learns what is wrong with its document first."""
    if t.storage_class not in STORAGE_CLASSES:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    action = "NoncurrentVersionTransition" if t.noncurrent else "Transition"
    days_name = "NoncurrentDays" if t.noncurrent else "Days"
    if t.noncurrent:
        newer = t.newer_noncurrent_versions
        if newer is not None and not 0 < newer <= MAX_NEWER_NONCURRENT:
            raise _invalid(
                f"'NewerNoncurrentVersions' must be between 1 and {MAX_NEWER_NONCURRENT}"
            )
    elif (t.days is None) == (t.date is None):
        raise S3Error(S3ErrorCode.MALFORMED_XML)  # exactly one of Days and Date
    if t.date is not None and t.date % DAY != 0:
        raise _invalid("'Date' must be at midnight GMT")
    if t.days is None:
        return
    if t.days < 0:
        raise _invalid(f"'{days_name}' in {action} action must be nonnegative")
    if t.storage_class in INFREQUENT_ACCESS and t.days < MIN_INFREQUENT_ACCESS_DAYS:
        raise _invalid(
            f"'{days_name}' in {action} action must be greater than or equal to"
            f" {MIN_INFREQUENT_ACCESS_DAYS} for storageClass '{t.storage_class}'"
        )


def _check_mixed_days_and_dates(rule: Rule) -> None:
    """A rule's Expiration and Transitions count in days or by date, not both."""
    exp = rule.expiration
    current = [t for t in rule.transitions if not t.noncurrent]
    by_days = any(t.days is not None for t in current) or (exp is not None and exp.days is not None)
    by_date = any(t.date is not None for t in current) or (exp is not None and exp.date is not None)
    if by_days and by_date:
        raise _request(
            "Found mixed 'Date' and 'Days' based Expiration and Transition actions in"
            " lifecycle rule"
        )


def _check_rule(rule: Rule) -> None:
    if rule.status not in (ENABLED, DISABLED):
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if rule.id is not None and len(rule.id) > MAX_ID_LENGTH:
        raise _invalid(f"ID length should not exceed allowed limit of {MAX_ID_LENGTH}")
    _check_filter(rule)
    exp = rule.expiration
    nve = rule.noncurrent_version_expiration
    abort = rule.abort_incomplete_multipart_upload
    if exp is None and nve is None and abort is None and not rule.transitions:
        raise _request("At least one action needs to be specified in a rule")
    conditions = rule.conditions
    has_tags = bool(conditions.tags)
    has_size = conditions.size_greater_than is not None or conditions.size_less_than is not None
    for transition in rule.transitions:
        _check_transition(transition)
    if exp is not None:
        given = [exp.days is not None, exp.date is not None]
        given.append(exp.expired_object_delete_marker is not None)
        if sum(given) != 1:
            raise S3Error(S3ErrorCode.MALFORMED_XML)
        if exp.days is not None and exp.days <= 0:
            raise _invalid("'Days' for Expiration action must be a positive integer")
        if exp.date is not None and exp.date % DAY != 0:
            raise _invalid("'Date' must be at midnight GMT")
        if exp.expired_object_delete_marker is not None and has_tags:
            raise _request("ExpiredObjectDeleteMarker cannot be specified with tags")
        if exp.expired_object_delete_marker is not None and has_size:
            raise _request("ExpiredObjectDeleteMarker cannot be specified with Object Size.")
    if nve is not None:
        if nve.noncurrent_days <= 0:
            raise _invalid(
                "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"
            )
        newer = nve.newer_noncurrent_versions
        if newer is not None and not 0 < newer <= MAX_NEWER_NONCURRENT:
            raise _invalid(
                f"'NewerNoncurrentVersions' must be between 1 and {MAX_NEWER_NONCURRENT}"
            )
    if abort is not None:
        if abort.days_after_initiation <= 0:
            raise _invalid(
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a"
                " positive integer"
            )
        if has_tags:
            raise _request("Tag-based filter cannot be used with AbortIncompleteMultipartUpload")
        if has_size:
            # An upload has no size yet (the message is S3's).
            raise _request("AbortIncompleteMultipartUpload cannot be specified with Object Size.")
    _check_mixed_days_and_dates(rule)


def validate(config: LifecycleConfiguration) -> None:
    """Raise S3Error for a configuration S3 would refuse (see the module docstring)."""
    if not config.rules:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if len(config.rules) > MAX_RULES:
        raise _invalid(f"A lifecycle configuration can have at most {MAX_RULES} rules")
    seen: set[str] = set()
    for rule in config.rules:
        _check_rule(rule)
        if rule.id is not None:
            if rule.id in seen:
                raise _invalid("Rule ID must be unique. Found same ID for more than one rule")
            seen.add(rule.id)
    if any(rule.transitions for rule in config.rules):
        raise S3Error(
            S3ErrorCode.NOT_IMPLEMENTED,
            "Lifecycle transitions are not supported: this service has a single storage class"
            " (use Expiration rules)",
        )
