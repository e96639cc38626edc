"""Which events a change causes, and the JSON document a target receives. Pure.

Matching (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html):
an event name matches a rule when one of its Event entries names it or its family
(``s3:ObjectCreated:*``) and the raw key starts with the rule's prefix and ends with its
suffix.

The record (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
eventVersion 2.1, ``Records[]`` of one record each, eventName without the ``s3:``
prefix, ``s3.object.key`` URL-encoded as S3 does it (form encoding: a space is ``+``),
size and eTag for created objects, versionId in versioned buckets, and the sequencer:
the outbox row's id in upper-case hex, zero-padded, so that comparing two sequencers of
one key (as strings) orders its events. s3:TestEvent has S3's own small document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote_plus

from auth.credentials import account_id
from events.config import TEST_EVENT, NotificationRule, expand
from events.targets.base import Message

EVENT_SOURCE = "kloudvault:s3"
REMOVAL_FAMILIES = ("s3:ObjectRemoved", "s3:LifecycleExpiration")
# The kinds of outbox rows (migration 0017): a notification, or replication work.
EVENT, REPLICATION = "event", "replication"


@dataclass(frozen=True, slots=True)
class ReplicationRoute:
    """Where a change a replication rule may cover is copied (gateway/s3/replication.py):
    the rule and its destination bucket (an operator target serves it)."""

    rule_id: str
    destination: str
    delete_markers: bool = False


@dataclass(frozen=True, slots=True)
class EventIntent:
    """What the request path passes into a change's transaction: the bucket's rules that
    could match, the event (a removal: just its family, the transaction knows whether it
    made a delete marker), and who asked; and the replication routes that may cover the
    change. No intent (None): no configuration, no work."""

    rules: tuple[NotificationRule, ...]
    event: str  # "s3:ObjectCreated:Put", ..., or a removal family ("s3:ObjectRemoved")
    time: float  # the eventTime
    principal: str = ""
    source_ip: str = ""
    request_id: str = ""
    region: str = ""
    owner: str = ""
    replication: tuple[ReplicationRoute, ...] = ()

    def name(self, *, marker_created: bool = False) -> str:
        """The event's full name (for a removal, Delete or DeleteMarkerCreated)."""
        if self.event in REMOVAL_FAMILIES:
            return self.event + (":DeleteMarkerCreated" if marker_created else ":Delete")
        return self.event


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One outbox row: an event for one target (gateway/meta/events.py)."""

    id: int
    target: str
    config_id: str
    bucket: str
    key: str
    event_name: str
    event_time: float
    version_id: str | None = None
    size: int = 0
    etag: str = ""
    principal: str = ""
    source_ip: str = ""
    request_id: str = ""
    region: str = ""
    owner: str = ""  # the bucket's owner: an account name
    state: str = "pending"
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None
    kind: str = EVENT  # for REPLICATION: target is the destination bucket

    @property
    def sequencer(self) -> str:
        return f"{self.id:016X}"


def event_matches(pattern: str, name: str) -> bool:
    return name in expand(pattern)


def rule_matches(rule: NotificationRule, name: str, key: str) -> bool:
    if rule.prefix and not key.startswith(rule.prefix):
        return False
    if rule.suffix and not key.endswith(rule.suffix):
        return False
    return any(event_matches(p, name) for p in rule.events)


def matching(rules: Iterable[NotificationRule], name: str, key: str) -> list[NotificationRule]:
    """The rules an event `name` of `key` goes to (validation lets at most one match)."""
    return [r for r in rules if rule_matches(r, name, key)]


def may_match(
    rules: Iterable[NotificationRule], family: str, key: str
) -> tuple[NotificationRule, ...]:
    """The rules some event of `family` (e.g. "s3:ObjectRemoved") on `key` could match."""
    found = []
    for rule in rules:
        if (rule.prefix and not key.startswith(rule.prefix)) or (
            rule.suffix and not key.endswith(rule.suffix)
        ):
            continue
        if any(name.startswith(family + ":") for p in rule.events for name in expand(p)):
            found.append(rule)
    return tuple(found)


def _time(at: float) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def record(event: OutboxEvent) -> dict[str, object]:
    """The event as one element of ``Records``."""
    obj: dict[str, object] = {"key": quote_plus(event.key, safe="/")}
    if event.event_name.startswith("s3:ObjectCreated:"):
        obj["size"] = event.size
        obj["eTag"] = event.etag
    if event.version_id is not None and event.version_id != "null":
        obj["versionId"] = event.version_id
    obj["sequencer"] = event.sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": EVENT_SOURCE,
        "awsRegion": event.region,
        "eventTime": _time(event.event_time),
        "eventName": event.event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": event.principal},
        "requestParameters": {"sourceIPAddress": event.source_ip},
        "responseElements": {"x-amz-request-id": event.request_id, "x-amz-id-2": event.request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": event.config_id,
            "bucket": {
                "name": event.bucket,
                # The account's id, as userIdentity names the same account when it writes
                # (never its name: both fields hold one kind of id, as on AWS).
                "ownerIdentity": {"principalId": account_id(event.owner) if event.owner else ""},
                "arn": f"arn:aws:s3:::{event.bucket}",
            },
            "object": obj,
        },
    }


def document(event: OutboxEvent) -> bytes:
    """The body a target sends: ``{"Records": [record]}``, or S3's test event."""
    if event.event_name == TEST_EVENT:
        body: dict[str, object] = {
            "Service": "KloudVault",
            "Event": TEST_EVENT,
            "Time": _time(event.event_time),
            "Bucket": event.bucket,
            "RequestId": event.request_id,
            "HostId": event.request_id,
        }
    else:
        body = {"Records": [record(event)]}
    return json.dumps(body, separators=(",", ":")).encode()


def message(event: OutboxEvent) -> Message:
    """The Message a Target sends; event_id stays the same across retries (and replays)."""
    return Message(
        body=document(event),
        event_name=event.event_name,
        bucket=event.bucket,
        key=event.key,
        event_id=f"{event.bucket}:{event.sequencer}",
    )
