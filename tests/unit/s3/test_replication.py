"""gateway.s3.replication: AWS's validation, which rule covers a change, newer-wins and
the replica header."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.replication import (
    And,
    Destination,
    Filter,
    ReplicationConfiguration,
    Rule,
    covering,
    may_cover,
    newer,
    parse_replica_header,
    replica_header,
    replication_op,
    validate,
)
from gateway.s3.tagging import Tag

DEST = Destination("arn:aws:s3:::copies")
OTHER = Destination("arn:aws:s3:::other")


def _config(*rules: Rule) -> ReplicationConfiguration:
    return ReplicationConfiguration("", rules)


def _refused(config: ReplicationConfiguration, versioning: str | None = "Enabled") -> S3Error:
    with pytest.raises(S3Error) as raised:
        validate(config, versioning=versioning, destinations={"copies", "other"})
    return raised.value


@pytest.mark.parametrize("versioning", [None, "Suspended"])
def test_validate_needs_versioning_enabled(versioning: str | None) -> None:
    error = _refused(_config(Rule("Enabled", DEST)), versioning)
    assert error.code is S3ErrorCode.INVALID_REQUEST
    assert "Versioning" in error.message


@pytest.mark.parametrize(
    ("rules", "code"),
    [
        ((Rule("Enabled", Destination("copies")),), S3ErrorCode.INVALID_REQUEST),  # not an ARN
        ((Rule("Enabled", Destination("arn:aws:s3:::nowhere")),), S3ErrorCode.INVALID_REQUEST),
        ((Rule("On", DEST),), S3ErrorCode.INVALID_ARGUMENT),
        ((Rule("Enabled", DEST, id="a"), Rule("Enabled", OTHER, id="a")),
         S3ErrorCode.INVALID_REQUEST),
        ((Rule("Enabled", DEST, priority=1), Rule("Enabled", OTHER, priority=1)),
         S3ErrorCode.INVALID_REQUEST),
        ((Rule("Enabled", DEST, filter=Filter(tag=Tag("k", "v")),
               delete_marker_replication=True),), S3ErrorCode.INVALID_REQUEST),
        ((), S3ErrorCode.MALFORMED_XML),
    ],
)  # fmt: skip
def test_validate_refuses(rules: tuple[Rule, ...], code: S3ErrorCode) -> None:
    assert _refused(_config(*rules)).code is code


def test_validate_gives_ids() -> None:
    stored = validate(
        _config(Rule("Enabled", DEST), Rule("Enabled", OTHER, id="mine")),
        versioning="Enabled",
        destinations={"copies", "other"},
    )
    assert [r.id for r in stored.rules] == ["rule-1", "mine"]


def test_covering_picks_highest_priority_matching_rule() -> None:
    low = Rule("Enabled", DEST, id="low", priority=1, filter=Filter(prefix="a/"))
    high = Rule("Enabled", DEST, id="high", priority=5,
                filter=Filter(and_=And("a/b", (Tag("k", "v"),))))  # fmt: skip
    off = Rule("Disabled", DEST, id="off", priority=9)
    rules = (low, high, off)
    assert covering(rules, "a/b/c", {"k": "v"}, "copies") is high
    assert covering(rules, "a/b/c", {"k": "w"}, "copies") is low
    assert covering(rules, "z", {}, "copies") is None
    assert covering(rules, "a/x", {}, "other") is None


def test_may_cover_ignores_tags_and_honours_delete_marker_replication() -> None:
    tagged = Rule("Enabled", DEST, id="t", filter=Filter(tag=Tag("k", "v")))
    markers = Rule("Enabled", OTHER, id="m", prefix="a", delete_marker_replication=True)
    assert may_cover((tagged, markers), "abc") == (tagged, markers)
    assert may_cover((tagged, markers), "abc", delete_marker=True) == (markers,)
    assert may_cover((tagged, markers), "zzz") == (tagged,)


def test_newer_by_time_then_version_id() -> None:
    assert newer(2.0, "a", 1.0, "z")
    assert newer(1.0, "b", 1.0, "a")
    assert not newer(1.0, "a", 1.0, "a")


def test_replica_header_round_trip_and_refusal() -> None:
    assert parse_replica_header(replica_header("00abc", 1700000000.25)) == ("00abc", 1700000000.25)
    for bad in ("", "x", "a b", "a/b 1", "a 1 2", "a -1"):
        with pytest.raises(S3Error):
            parse_replica_header(bad)


@pytest.mark.parametrize(
    ("event", "op"),
    [
        ("s3:ObjectCreated:Put", "put"),
        ("s3:ObjectCreated:CompleteMultipartUpload", "put"),
        ("s3:ObjectCreated:Copy", "put"),
        ("s3:ObjectRemoved:DeleteMarkerCreated", "delete-marker"),
        ("s3:ObjectRemoved:Delete", None),  # a version deleted by id: not replicated
        ("s3:LifecycleExpiration:DeleteMarkerCreated", None),
        ("s3:ObjectTagging:Put", "metadata"),
        ("s3:ObjectTagging:Delete", "metadata"),
        ("s3:ObjectLock:Put", "metadata"),
        ("s3:ObjectAcl:Put", None),
    ],
)
def test_replication_op(event: str, op: str | None) -> None:
    assert replication_op(event) == op
