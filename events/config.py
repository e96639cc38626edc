"""The bucket notification configuration: its model, its validation, and the target ARNs.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html
and https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html.
Each QueueConfiguration, TopicConfiguration or CloudFunctionConfiguration becomes one
NotificationRule: an Id, the ARN of a target the operator configured, the event names
(wildcards such as ``s3:ObjectCreated:*`` allowed) and an optional key prefix and suffix.
ARNs name targets ``arn:kloudvault:<sqs|sns|lambda>:<region>:<account>:<target name>``.

validate() refuses, as S3 does, with InvalidArgument: an unknown event name, a filter
with two prefix (or suffix) rules or an unknown rule name, an ARN that names no
configured target, two rules with the same Id, and two rules that overlap: they share an
event type and a key could match both filters (one prefix starts the other, one suffix
ends the other). Pure: the known target names are passed in.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from gateway.errors import S3Error, S3ErrorCode

# The document name under which a bucket keeps its configuration (put_bucket_config).
NOTIFICATION = "notification"
MAX_CONFIGURATION_BYTES = 256 * 1024

RuleKind = Literal["Queue", "Topic", "CloudFunction"]
# The ARN service each kind of configuration names.
SERVICES: dict[RuleKind, str] = {"Queue": "sqs", "Topic": "sns", "CloudFunction": "lambda"}

# The events KloudVault emits, by family; `<family>:*` stands for all of a family.
EVENT_FAMILIES: dict[str, tuple[str, ...]] = {
    "s3:ObjectCreated": ("Put", "Post", "Copy", "CompleteMultipartUpload"),
    "s3:ObjectRemoved": ("Delete", "DeleteMarkerCreated"),
    "s3:ObjectTagging": ("Put", "Delete"),
    "s3:ObjectAcl": ("Put",),
    "s3:LifecycleExpiration": ("Delete", "DeleteMarkerCreated"),
}
EVENT_NAMES = frozenset(
    f"{family}:{name}" for family, names in EVENT_FAMILIES.items() for name in names
)
TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True)
class NotificationRule:
    kind: RuleKind
    arn: str
    events: tuple[str, ...]
    id: str | None = None
    prefix: str | None = None
    suffix: str | None = None

    @property
    def target(self) -> str:
        """The name of the configured target the ARN names (its last part)."""
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class NotificationConfiguration:
    rules: tuple[NotificationRule, ...] = ()


def _invalid(message: str, name: str | None = None, value: str | None = None) -> S3Error:
    if name is None:
        return S3Error(S3ErrorCode.INVALID_ARGUMENT, message)
    return S3Error(
        S3ErrorCode.INVALID_ARGUMENT, message, ArgumentName=name, ArgumentValue=value or ""
    )


def expand(pattern: str) -> frozenset[str]:
    """The event names a configured name stands for (itself, or a family's for `:*`)."""
    if pattern.endswith(":*"):
        names = EVENT_FAMILIES.get(pattern[:-2])
        if names is not None:
            return frozenset(f"{pattern[:-2]}:{n}" for n in names)
    if pattern in EVENT_NAMES:
        return frozenset((pattern,))
    raise _invalid("The event is not supported for notifications", "Event", pattern)


def parse_arn(arn: str, kind: RuleKind) -> str:
    """The target name an ARN of `kind` names; InvalidArgument for another shape."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[1] != "kloudvault" or not parts[5]:
        raise _invalid("The ARN is not well formed", SERVICES[kind], arn)
    if parts[2] != SERVICES[kind]:
        raise _invalid(f"A {kind}Configuration needs an {SERVICES[kind]} ARN", kind, arn)
    return parts[5]


def _overlap(a: NotificationRule, b: NotificationRule) -> bool:
    """Some key could match both rules' filters, for some event type both name."""
    if not set().union(*map(expand, a.events)) & set().union(*map(expand, b.events)):
        return False
    pa, pb = a.prefix or "", b.prefix or ""
    sa, sb = a.suffix or "", b.suffix or ""
    prefixes = pa.startswith(pb) or pb.startswith(pa)
    suffixes = sa.endswith(sb) or sb.endswith(sa)
    return prefixes and suffixes


def validate(
    config: NotificationConfiguration, targets: Collection[str]
) -> NotificationConfiguration:
    """The configuration as stored (rules without an Id get one), or InvalidArgument."""
    rules: list[NotificationRule] = []
    seen_ids: set[str] = set()
    for rule in config.rules:
        if not rule.events:
            raise _invalid("A notification configuration needs at least one Event")
        for event in rule.events:
            expand(event)
        name = parse_arn(rule.arn, rule.kind)
        if name not in targets:
            raise _invalid(
                "Unable to validate the following destination configurations", rule.arn, "ARN"
            )
        rule_id = rule.id or secrets.token_hex(16)
        if rule_id in seen_ids:
            raise _invalid("Two notification configurations have the same Id", "Id", rule_id)
        seen_ids.add(rule_id)
        for other in rules:
            if _overlap(rule, other):
                raise _invalid(
                    "Configurations overlap. Configurations on the same bucket cannot share"
                    " a common event type."
                )
        rules.append(replace(rule, id=rule_id))
    return NotificationConfiguration(tuple(rules))
