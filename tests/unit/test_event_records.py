"""events.config (validation), events.records (matching, the record JSON) and the
NotificationConfiguration XML codec, as tables."""

from __future__ import annotations

import json

import pytest

import gateway.xml.notification  # noqa: F401  (registers the codec)
from auth.credentials import account_id
from events.config import NotificationConfiguration, NotificationRule, expand, validate
from events.records import EventIntent, OutboxEvent, document, matching, may_match, rule_matches
from gateway.errors import S3Error
from gateway.xml.codec import parse, render

ARN = "arn:kloudvault:sqs:us-east-1:1:hook"
TOPIC = "arn:kloudvault:sns:us-east-1:1:hook"


def q(*events: str, prefix: str | None = None, suffix: str | None = None) -> NotificationRule:
    return NotificationRule("Queue", ARN, events, "id", prefix, suffix)


@pytest.mark.parametrize(
    ("rule", "name", "key", "expected"),
    [
        (q("s3:ObjectCreated:*"), "s3:ObjectCreated:Put", "k", True),
        (q("s3:ObjectCreated:*"), "s3:ObjectCreated:CompleteMultipartUpload", "k", True),
        (q("s3:ObjectCreated:Post"), "s3:ObjectCreated:Put", "k", False),
        (q("s3:ObjectRemoved:*"), "s3:ObjectRemoved:DeleteMarkerCreated", "k", True),
        (q("s3:ObjectRemoved:*"), "s3:LifecycleExpiration:Delete", "k", False),
        (q("s3:ObjectCreated:*", prefix="img/"), "s3:ObjectCreated:Put", "img/a.jpg", True),
        (q("s3:ObjectCreated:*", prefix="img/"), "s3:ObjectCreated:Put", "doc/img/a", False),
        (q("s3:ObjectCreated:*", suffix=".jpg"), "s3:ObjectCreated:Put", "a.jpg", True),
        (q("s3:ObjectCreated:*", suffix=".jpg"), "s3:ObjectCreated:Put", "a.jpeg", False),
        (q("s3:ObjectCreated:*", prefix="a", suffix="z"), "s3:ObjectCreated:Put", "az", True),
        (q("s3:ObjectCreated:*", prefix="a", suffix="z"), "s3:ObjectCreated:Put", "a", False),
    ],
)
def test_rule_matches(rule: NotificationRule, name: str, key: str, expected: bool) -> None:
    assert rule_matches(rule, name, key) is expected
    assert (matching([rule], name, key) == [rule]) is expected


def test_may_match_and_intent_names() -> None:
    rules = (q("s3:ObjectRemoved:Delete", prefix="a/"),)
    assert may_match(rules, "s3:ObjectRemoved", "a/k") == rules
    assert may_match(rules, "s3:ObjectRemoved", "b/k") == ()
    assert may_match(rules, "s3:ObjectCreated", "a/k") == ()
    removal = EventIntent(rules, "s3:ObjectRemoved", 0.0)
    assert removal.name() == "s3:ObjectRemoved:Delete"
    assert removal.name(marker_created=True) == "s3:ObjectRemoved:DeleteMarkerCreated"
    assert (
        EventIntent(rules, "s3:ObjectAcl:Put", 0.0).name(marker_created=True) == "s3:ObjectAcl:Put"
    )


@pytest.mark.parametrize(
    "rules",
    [
        (q("s3:ObjectCreated:Bogus"),),
        (q("ObjectCreated:Put"),),
        (q(),),
        (NotificationRule("Queue", "arn:kloudvault:sqs:r:1:other", ("s3:ObjectCreated:*",)),),
        (NotificationRule("Queue", TOPIC, ("s3:ObjectCreated:*",)),),  # sns ARN in a Queue
        (NotificationRule("Queue", "arn:aws:sqs:r:1:hook", ("s3:ObjectCreated:*",)),),
        (q("s3:ObjectCreated:*"), q("s3:ObjectCreated:Put", prefix="x")),  # empty prefix
        (q("s3:ObjectCreated:*", suffix=".jpg"), q("s3:ObjectCreated:Put", suffix="a.jpg")),
        (
            NotificationRule("Queue", ARN, ("s3:ObjectCreated:*",), "same", "a/"),
            NotificationRule("Topic", TOPIC, ("s3:ObjectRemoved:*",), "same"),
        ),
    ],
)
def test_validate_refuses(rules: tuple[NotificationRule, ...]) -> None:
    with pytest.raises(S3Error) as caught:
        validate(NotificationConfiguration(rules), {"hook"})
    assert caught.value.code.code == "InvalidArgument"


def test_validate_accepts_disjoint_and_names_rules() -> None:
    config = NotificationConfiguration(
        (
            NotificationRule("Queue", ARN, ("s3:ObjectCreated:*",), None, "a/"),
            NotificationRule("Topic", TOPIC, ("s3:ObjectCreated:Put",), None, "b/"),
            NotificationRule("Queue", ARN, ("s3:ObjectRemoved:*",), "r", "a/"),
        )
    )
    stored = validate(config, {"hook"})
    assert all(r.id for r in stored.rules) and stored.rules[2].id == "r"
    assert expand("s3:ObjectTagging:*") == {"s3:ObjectTagging:Put", "s3:ObjectTagging:Delete"}


def test_notification_xml_round_trip() -> None:
    config = NotificationConfiguration(
        (
            NotificationRule("Topic", TOPIC, ("s3:ObjectCreated:*",), "t", "in/", ".png"),
            NotificationRule("Queue", ARN, ("s3:ObjectRemoved:Delete", "s3:ObjectAcl:Put"), "q"),
            NotificationRule(
                "CloudFunction",
                "arn:kloudvault:lambda:r:1:fn",
                ("s3:ObjectTagging:*",),
                "f",
                None,
                "x",
            ),
        )
    )
    assert parse(NotificationConfiguration, render(config)) == config
    two_prefixes = (
        b"<NotificationConfiguration><QueueConfiguration><Queue>a</Queue><Event>e</Event>"
        b"<Filter><S3Key><FilterRule><Name>Prefix</Name><Value>a</Value></FilterRule>"
        b"<FilterRule><Name>prefix</Name><Value>b</Value></FilterRule></S3Key></Filter>"
        b"</QueueConfiguration></NotificationConfiguration>"
    )
    with pytest.raises(S3Error) as caught:
        parse(NotificationConfiguration, two_prefixes)
    assert caught.value.code.code == "InvalidArgument"


def test_record_document() -> None:
    created = OutboxEvent(
        0x2A, "hook", "cfg", "bkt", "dir/a b+c.txt", "s3:ObjectCreated:Put", 1_700_000_000.5,
        version_id="v1", size=5, etag="e", principal="p", source_ip="10.0.0.1",
        request_id="rid", region="eu-west-1", owner="alice",
    )  # fmt: skip
    (record,) = json.loads(document(created))["Records"]
    assert record["eventVersion"] == "2.1"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"] == "2023-11-14T22:13:20.500Z"
    assert record["awsRegion"] == "eu-west-1"
    assert record["userIdentity"] == {"principalId": "p"}
    assert record["requestParameters"] == {"sourceIPAddress": "10.0.0.1"}
    assert record["responseElements"]["x-amz-request-id"] == "rid"
    assert record["s3"]["configurationId"] == "cfg"
    assert record["s3"]["bucket"] == {
        "name": "bkt",
        "ownerIdentity": {"principalId": account_id("alice")},  # not the name
        "arn": "arn:aws:s3:::bkt",
    }
    assert record["s3"]["object"] == {
        "key": "dir/a+b%2Bc.txt",
        "size": 5,
        "eTag": "e",
        "versionId": "v1",
        "sequencer": "000000000000002A",
    }
    removed = OutboxEvent(7, "hook", "c", "b", "k", "s3:ObjectRemoved:Delete", 0.0, "null")
    (record,) = json.loads(document(removed))["Records"]
    assert record["s3"]["object"] == {"key": "k", "sequencer": "0000000000000007"}
    test = OutboxEvent(8, "hook", "", "b", "", "s3:TestEvent", 0.0, request_id="r")
    assert json.loads(document(test))["Event"] == "s3:TestEvent"
