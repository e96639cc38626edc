"""XML of Put/GetBucketNotificationConfiguration (NotificationConfiguration), registered
with gateway.xml.codec (importing this module registers it); the rules are events.config's.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_NotificationConfiguration.html: any
number of TopicConfiguration, QueueConfiguration and CloudFunctionConfiguration, each with
an optional Id, its ARN (Topic, Queue, CloudFunction), Event+ and an optional
Filter/S3Key/FilterRule* of Name (prefix|suffix) and Value. EventBridgeConfiguration is
accepted and ignored (there is no EventBridge here).
"""

from __future__ import annotations

from events.config import NotificationConfiguration, NotificationRule, RuleKind
from gateway.errors import S3Error, S3ErrorCode
from gateway.xml.codec import Element, _add, _children, _malformed, _root, _text, parses, renders
from gateway.xml.safe import local_name

KINDS: tuple[RuleKind, ...] = ("Topic", "Queue", "CloudFunction")


@renders(NotificationConfiguration)
def _render_notification(model: NotificationConfiguration) -> Element:
    root = _root("NotificationConfiguration")
    for kind in KINDS:  # grouped by kind, as S3 answers
        for rule in (r for r in model.rules if r.kind == kind):
            el = _add(root, f"{kind}Configuration")
            if rule.id is not None:
                _add(el, "Id", rule.id)
            _add(el, kind, rule.arn)
            for event in rule.events:
                _add(el, "Event", event)
            if rule.prefix is not None or rule.suffix is not None:
                key = _add(_add(el, "Filter"), "S3Key")
                for name, value in (("prefix", rule.prefix), ("suffix", rule.suffix)):
                    if value is not None:
                        fr = _add(key, "FilterRule")
                        _add(fr, "Name", name)
                        _add(fr, "Value", value)
    return root


def _filter(el: Element) -> tuple[str | None, str | None]:
    found: dict[str, str] = {}
    for f in _children(el, "Filter"):
        for key in _children(f, "S3Key"):
            for fr in _children(key, "FilterRule"):
                name = (_text(fr, "Name", required=True) or "").lower()
                value = _text(fr, "Value", required=True) or ""
                if name not in ("prefix", "suffix"):
                    raise S3Error(
                        S3ErrorCode.INVALID_ARGUMENT,
                        "filter rule name must be either prefix or suffix",
                        ArgumentName="FilterRule",
                        ArgumentValue=name,
                    )
                if name in found:
                    raise S3Error(
                        S3ErrorCode.INVALID_ARGUMENT,
                        f"Cannot specify more than one {name} rule in a filter.",
                        ArgumentName="FilterRule",
                        ArgumentValue=name,
                    )
                found[name] = value
    return found.get("prefix"), found.get("suffix")


def _rule(el: Element, kind: RuleKind) -> NotificationRule:
    arn = _text(el, kind, required=True)
    events = tuple((e.text or "").strip() for e in _children(el, "Event"))
    if not arn or not events:
        raise _malformed()
    prefix, suffix = _filter(el)
    return NotificationRule(kind, arn.strip(), events, _text(el, "Id") or None, prefix, suffix)


@parses(NotificationConfiguration, "NotificationConfiguration")
def _parse_notification(root: Element) -> NotificationConfiguration:
    rules = [
        _rule(el, kind) for el in root for kind in KINDS if local_name(el) == f"{kind}Configuration"
    ]
    return NotificationConfiguration(tuple(rules))
