"""Bucket replication rules: the model, AWS's validation, and which rule covers a change. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ReplicationRule.html (the V2 rule:
Filter with Prefix, Tag or And; Priority; DeleteMarkerReplication; ExistingObjectReplication;
SourceSelectionCriteria/ReplicaModifications). A V1 rule (a bare <Prefix>, no Filter) is
read as a filter on that prefix.

validate() refuses as S3 does: InvalidRequest when the source bucket's versioning is not
Enabled, when a rule's destination ARN is not `arn:aws:s3:::BUCKET` or names a bucket no
operator target serves, for two rules with the same ID or Priority, and for
DeleteMarkerReplication Enabled on a rule that filters by tag (AWS: delete markers carry
no tags); InvalidArgument for a bad Status. Several Enabled rules may cover one key: for
each destination the one with the highest Priority wins (covering()).

Replication status (x-amz-replication-status): PENDING when a change is queued, COMPLETED
once the worker copied it, FAILED when it gave up; REPLICA on the copy a KloudVault
destination stores, for good. A replica is not replicated again, but with a rule's
ReplicaModifications Enabled a change of its tags, retention or legal hold is (replica
modification sync, https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-for-metadata-changes.html).
Newer wins (two-way replication): a version is newer than another when
its (last modified, version id) pair is greater; version ids start with their creation
time in microseconds (gateway/s3/versions.py), so the id breaks ties in time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.tagging import Tag

# The document name under which a bucket keeps its configuration (put_bucket_config).
REPLICATION = "replication"
MAX_CONFIGURATION_BYTES = 256 * 1024
MAX_RULES = 1000
ARN_PREFIX = "arn:aws:s3:::"

STATUS_HEADER = "x-amz-replication-status"
PENDING, COMPLETED, FAILED, REPLICA = "PENDING", "COMPLETED", "FAILED", "REPLICA"
# The request header a replication worker sends to a KloudVault destination: the source's
# version id and last-modified time ("<version id> <epoch seconds>"). Honoured only for
# callers allowed s3:ReplicateObject / s3:ReplicateDelete / s3:ReplicateTags.
REPLICA_HEADER = "x-kloudvault-replica"

# What an outbox row of kind "replication" asks the worker to do.
OP_PUT = "put"  # a new version: copy it
OP_DELETE_MARKER = "delete-marker"  # a new delete marker
OP_METADATA = "metadata"  # tags, retention or legal hold of a version changed
OPS = (OP_PUT, OP_DELETE_MARKER, OP_METADATA)
# The pseudo event of retention and legal hold changes: no notification names it, but it
# is a metadata change replication copies.
OBJECT_LOCK_EVENT = "s3:ObjectLock:Put"


def replication_op(event_name: str) -> str | None:
    """The replication work an event causes (events.records names), None for none: a new
    version is copied, a delete marker replicated (where the rule asks), a change of tags,
    retention or legal hold copied as metadata. Deleting a version by id, lifecycle
    expiry and ACL changes are not replicated (as on AWS)."""
    if event_name.startswith("s3:ObjectCreated:"):
        return OP_PUT
    if event_name == "s3:ObjectRemoved:DeleteMarkerCreated":
        return OP_DELETE_MARKER
    if event_name.startswith("s3:ObjectTagging:") or event_name == OBJECT_LOCK_EVENT:
        return OP_METADATA
    return None


@dataclass(frozen=True)
class And:
    prefix: str | None = None
    tags: tuple[Tag, ...] = ()


@dataclass(frozen=True)
class Filter:
    """At most one of prefix, tag, and_; none: every object."""

    prefix: str | None = None
    tag: Tag | None = None
    and_: And | None = None

    @property
    def key_prefix(self) -> str:
        if self.and_ is not None:
            return self.and_.prefix or ""
        return self.prefix or ""

    @property
    def tags(self) -> tuple[Tag, ...]:
        if self.and_ is not None:
            return self.and_.tags
        return (self.tag,) if self.tag is not None else ()


@dataclass(frozen=True)
class Destination:
    bucket: str  # the ARN, as given
    storage_class: str | None = None
    account: str | None = None

    @property
    def bucket_name(self) -> str:
        return self.bucket.removeprefix(ARN_PREFIX)


@dataclass(frozen=True)
class Rule:
    status: str  # "Enabled" | "Disabled"
    destination: Destination
    id: str | None = None
    priority: int | None = None
    filter: Filter | None = None  # None with prefix set: a V1 rule
    prefix: str | None = None  # V1 <Prefix>
    delete_marker_replication: bool = False
    existing_object_replication: bool = False
    replica_modifications: bool = False

    @property
    def enabled(self) -> bool:
        return self.status == "Enabled"

    @property
    def key_prefix(self) -> str:
        return self.filter.key_prefix if self.filter is not None else (self.prefix or "")

    @property
    def tags(self) -> tuple[Tag, ...]:
        return self.filter.tags if self.filter is not None else ()


@dataclass(frozen=True)
class ReplicationConfiguration:
    role: str = ""
    rules: tuple[Rule, ...] = ()


def _invalid_request(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_REQUEST, message)


def validate(
    config: ReplicationConfiguration, *, versioning: str | None, destinations: Collection[str]
) -> ReplicationConfiguration:
    """The configuration as stored (rules without an ID get their index), or the S3 error.
    `destinations`: the bucket names the operator's targets serve."""
    if versioning != "Enabled":
        raise _invalid_request(
            "Versioning must be 'Enabled' on the bucket to apply a replication configuration"
        )
    if not config.rules:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if len(config.rules) > MAX_RULES:
        raise _invalid_request(f"A replication configuration holds at most {MAX_RULES} rules")
    ids: set[str] = set()
    priorities: set[int] = set()
    rules: list[Rule] = []
    for index, rule in enumerate(config.rules, start=1):
        if rule.status not in ("Enabled", "Disabled"):
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "Status must be Enabled or Disabled",
                ArgumentName="Status",
                ArgumentValue=rule.status,
            )
        rule_id = rule.id or f"rule-{index}"
        if len(rule_id) > 255:
            raise _invalid_request("A rule ID is at most 255 characters")
        if rule_id in ids:
            raise _invalid_request("Rule Id must be unique")
        ids.add(rule_id)
        if rule.priority is not None:
            if rule.priority in priorities:
                raise _invalid_request("Found duplicate priority " + str(rule.priority))
            priorities.add(rule.priority)
        arn = rule.destination.bucket
        if not arn.startswith(ARN_PREFIX) or not rule.destination.bucket_name:
            raise _invalid_request("Invalid bucket ARN: " + arn)
        if rule.destination.bucket_name not in destinations:
            raise _invalid_request(
                "Destination bucket must be served by a replication target: " + arn
            )
        if rule.delete_marker_replication and rule.tags:
            raise _invalid_request(
                "Delete marker replication is not supported if any Tag filter is specified"
            )
        rules.append(replace(rule, id=rule_id))
    return ReplicationConfiguration(config.role, tuple(rules))


# -- which rule covers a change --------------------------------------------------------------


def _prefix_matches(rule: Rule, key: str) -> bool:
    return key.startswith(rule.key_prefix)


def matches(rule: Rule, key: str, tags: Mapping[str, str]) -> bool:
    """The rule is Enabled, the key has its prefix and the object carries its tags."""
    if not rule.enabled or not _prefix_matches(rule, key):
        return False
    return all(tags.get(t.key) == t.value for t in rule.tags)


def _rank(rule: Rule) -> int:
    return rule.priority if rule.priority is not None else 0


def may_cover(
    rules: tuple[Rule, ...], key: str, *, delete_marker: bool = False
) -> tuple[Rule, ...]:
    """The Enabled rules a change of `key` could fall under, whatever its tags (the request
    path queues one row per such rule; the worker then checks tags: covering())."""
    found = []
    for rule in rules:
        if not rule.enabled or not _prefix_matches(rule, key):
            continue
        if delete_marker and not rule.delete_marker_replication:
            continue
        found.append(rule)
    return tuple(found)


def covering(
    rules: tuple[Rule, ...], key: str, tags: Mapping[str, str], destination: str
) -> Rule | None:
    """The rule that decides replication of `key` (with `tags`) to `destination` (a bucket
    name): the highest-Priority matching rule naming it (the first one for equal ranks)."""
    best: Rule | None = None
    for rule in rules:
        if rule.destination.bucket_name != destination or not matches(rule, key, tags):
            continue
        if best is None or _rank(rule) > _rank(best):
            best = rule
    return best


def newer(a_time: float, a_version: str, b_time: float, b_version: str) -> bool:
    """Version a is newer than version b (two-way replication: the newer one is latest)."""
    return (a_time, a_version) > (b_time, b_version)


def replica_header(version_id: str, last_modified: float) -> str:
    return f"{version_id} {last_modified!r}"


def parse_replica_header(value: str) -> tuple[str, float]:
    """(version id, last modified) of an x-kloudvault-replica value; InvalidArgument if bad."""
    parts = value.split()
    try:
        if len(parts) != 2 or not parts[0].isalnum() or len(parts[0]) > 64:
            raise ValueError(value)
        at = float(parts[1])
        if not 0 <= at < 1e11:
            raise ValueError(value)
    except ValueError as exc:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Malformed replica header",
            ArgumentName=REPLICA_HEADER,
            ArgumentValue=value[:100],
        ) from exc
    return parts[0], at
