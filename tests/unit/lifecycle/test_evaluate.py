"""lifecycle.evaluate: a table of (rules, version, time) -> the action due, and the day
arithmetic (S3's midnight rounding; a scaled day without it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gateway.s3.tagging import Tag
from lifecycle.evaluate import (
    DAY,
    MAX_RETENTION_RULE_ID,
    Action,
    Reason,
    Timing,
    VersionFacts,
    current_expiration,
    due_for_upload,
    due_for_version,
    scans_uploads,
    scans_versions,
)
from lifecycle.rules import (
    AbortIncompleteMultipartUpload,
    And,
    Expiration,
    Filter,
    NoncurrentVersionExpiration,
    Rule,
)

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
MIDNIGHT_AFTER_T0 = 1_700_006_400.0  # 2023-11-15T00:00:00Z
SCALED = Timing(day_seconds=2.0)  # one "day" lasts 2 seconds: no rounding


def _rule(rule_id: str = "r", **kwargs: object) -> Rule:
    return Rule("Enabled", rule_id, Filter(), **kwargs)  # type: ignore[arg-type]


EXPIRE_3 = _rule("e3", expiration=Expiration(days=3))
EXPIRE_DATE = _rule("date", expiration=Expiration(date=MIDNIGHT_AFTER_T0 + 10 * DAY))
MARKERS = _rule("dm", expiration=Expiration(expired_object_delete_marker=True))
NONCURRENT_2 = _rule("nc", noncurrent_version_expiration=NoncurrentVersionExpiration(2))
KEEP_2 = _rule("keep2", noncurrent_version_expiration=NoncurrentVersionExpiration(1, 2))
DISABLED = Rule("Disabled", "off", Filter(), expiration=Expiration(days=1))
LOGS_ONLY = Rule("Enabled", "logs", Filter(prefix="logs/"), expiration=Expiration(days=1))
TAGGED = Rule("Enabled", "tmp", Filter(tag=Tag("class", "tmp")), expiration=Expiration(days=1))
# <And>: prefix, two tags and both size bounds, every one of them must hold.
AND_ALL = Rule(
    "Enabled",
    "and",
    Filter(and_=And("logs/", (Tag("a", "1"), Tag("b", "2")), 100, 200)),
    expiration=Expiration(days=1),
)
BIG = Rule("Enabled", "big", Filter(size_greater_than=100), expiration=Expiration(days=1))
SMALL = Rule("Enabled", "small", Filter(size_less_than=100), expiration=Expiration(days=1))
BOTH_TAGS = {"a": "1", "b": "2", "other": "x"}
MARKER_DATE = _rule("mdate", expiration=Expiration(date=MIDNIGHT_AFTER_T0 + 10 * DAY))


def current(key: str = "k", **kw: object) -> VersionFacts:
    return VersionFacts(**{"key": key, "created": T0, "size": 10, **kw})  # type: ignore[arg-type]


def noncurrent(since: float, newer: int = 0, **kw: object) -> VersionFacts:
    return VersionFacts(
        key="k",
        created=T0,
        size=10,
        is_latest=False,
        noncurrent_since=since,
        newer_noncurrent=newer,
        **kw,  # type: ignore[arg-type]
    )


def marker(sole: bool) -> VersionFacts:
    return VersionFacts(key="k", created=T0, is_delete_marker=True, sole=sole)


@dataclass(frozen=True)
class Case:
    name: str
    rules: tuple[Rule, ...]
    version: VersionFacts
    now: float
    expected: tuple[Action, Reason, str] | None
    timing: Timing = field(default_factory=Timing)


LATER = T0 + 100 * DAY


def _and_case(name: str, expected: bool, key: str = "logs/x", **kw: object) -> Case:
    facts = VersionFacts(**{"key": key, "created": T0, "size": 150, "tags": BOTH_TAGS, **kw})  # type: ignore[arg-type]
    due = (Action.EXPIRE, Reason.EXPIRATION, "and") if expected else None
    return Case(f"and: {name}", (AND_ALL,), facts, LATER, due)


# Filters: <And> needs all its predicates; size bounds are strict (S3: "greater than").
FILTER_CASES = [
    _and_case("all hold", True),
    _and_case("prefix differs", False, key="data/x"),
    _and_case("one tag missing", False, tags={"a": "1"}),
    _and_case("a tag's value differs", False, tags={"a": "1", "b": "3"}),
    _and_case("size at the lower bound", False, size=100),
    _and_case("size just above the lower bound", True, size=101),
    _and_case("size at the upper bound", False, size=200),
    _and_case("size just below the upper bound", True, size=199),
    Case("size greater: 100 is not", (BIG,), current(size=100), LATER, None),
    Case(
        "size greater: 101 is",
        (BIG,),
        current(size=101),
        LATER,
        (Action.EXPIRE, Reason.EXPIRATION, "big"),
    ),
    Case("size less: 100 is not", (SMALL,), current(size=100), LATER, None),
    Case(
        "size less: 0 is",
        (SMALL,),
        current(size=0),
        LATER,
        (Action.EXPIRE, Reason.EXPIRATION, "small"),
    ),
    Case("tag alone: other tags only", (TAGGED,), current(tags={"x": "tmp"}), LATER, None),
    # A noncurrent version of a tagged object: Expiration does not apply, whatever the tag.
    Case("tag alone: noncurrent", (TAGGED,), noncurrent(T0, tags={"class": "tmp"}), LATER, None),
    # Date rules also remove a lone delete marker once the date has come.
    Case("date: lone marker before", (MARKER_DATE,), marker(sole=True), T0 + DAY, None),
    Case(
        "date: lone marker after",
        (MARKER_DATE,),
        marker(sole=True),
        MIDNIGHT_AFTER_T0 + 10 * DAY,
        (Action.REMOVE, Reason.EXPIRED_DELETE_MARKER, "mdate"),
    ),
    Case("date: marker over versions", (MARKER_DATE,), marker(sole=False), LATER, None),
    Case("date: noncurrent untouched", (MARKER_DATE,), noncurrent(T0), LATER, None),
]

CASES = [
    # Expiration Days: creation + 3 days, rounded up to the next midnight UTC.
    Case("days: not yet", (EXPIRE_3,), current(), MIDNIGHT_AFTER_T0 + 3 * DAY - 1, None),
    Case(
        "days: due at midnight",
        (EXPIRE_3,),
        current(),
        MIDNIGHT_AFTER_T0 + 3 * DAY,
        (Action.EXPIRE, Reason.EXPIRATION, "e3"),
    ),
    Case(
        "scaled day: no rounding",
        (EXPIRE_3,),
        current(),
        T0 + 6,
        (Action.EXPIRE, Reason.EXPIRATION, "e3"),
        SCALED,
    ),
    Case("scaled day: not yet", (EXPIRE_3,), current(), T0 + 5.9, None, SCALED),
    Case("date: before", (EXPIRE_DATE,), current(), MIDNIGHT_AFTER_T0 + 10 * DAY - 1, None),
    Case(
        "date: on it",
        (EXPIRE_DATE,),
        current(),
        MIDNIGHT_AFTER_T0 + 10 * DAY,
        (Action.EXPIRE, Reason.EXPIRATION, "date"),
    ),
    Case("disabled rule", (DISABLED,), current(), T0 + 100 * DAY, None),
    Case("prefix does not match", (LOGS_ONLY,), current("data/x"), T0 + 100 * DAY, None),
    Case(
        "prefix matches",
        (LOGS_ONLY,),
        current("logs/x"),
        T0 + 100 * DAY,
        (Action.EXPIRE, Reason.EXPIRATION, "logs"),
    ),
    Case("tag missing", (TAGGED,), current(), T0 + 100 * DAY, None),
    Case(
        "tag present",
        (TAGGED,),
        current(tags={"class": "tmp"}),
        T0 + 100 * DAY,
        (Action.EXPIRE, Reason.EXPIRATION, "tmp"),
    ),
    # Expiration applies to current versions only.
    Case("noncurrent ignores Expiration", (EXPIRE_3,), noncurrent(T0), T0 + 100 * DAY, None),
    # Noncurrent: counted from when the version became noncurrent (its successor's creation).
    Case(
        "noncurrent: counted from successor",
        (NONCURRENT_2,),
        noncurrent(T0 + 5 * DAY),
        T0 + 6 * DAY,
        None,
    ),
    Case(
        "noncurrent: due",
        (NONCURRENT_2,),
        noncurrent(T0 + 5 * DAY),
        T0 + 8 * DAY,
        (Action.REMOVE, Reason.NONCURRENT_EXPIRATION, "nc"),
    ),
    Case("noncurrent rule ignores current", (NONCURRENT_2,), current(), T0 + 100 * DAY, None),
    Case("keep 2 newer: 1 newer", (KEEP_2,), noncurrent(T0, newer=1), T0 + 100 * DAY, None),
    Case(
        "keep 2 newer: 2 newer",
        (KEEP_2,),
        noncurrent(T0, newer=2),
        T0 + 100 * DAY,
        (Action.REMOVE, Reason.NONCURRENT_EXPIRATION, "keep2"),
    ),
    # Delete markers.
    Case(
        "lone marker removed",
        (MARKERS,),
        marker(sole=True),
        T0,
        (Action.REMOVE, Reason.EXPIRED_DELETE_MARKER, "dm"),
    ),
    Case("marker over versions stays", (MARKERS,), marker(sole=False), T0 + 100 * DAY, None),
    Case("marker rule ignores objects", (MARKERS,), current(), T0 + 100 * DAY, None),
    Case(
        "days also clean lone markers, once old enough",
        (EXPIRE_3,),
        marker(sole=True),
        MIDNIGHT_AFTER_T0 + 3 * DAY,
        (Action.REMOVE, Reason.EXPIRED_DELETE_MARKER, "e3"),
    ),
    Case("days: young lone marker", (EXPIRE_3,), marker(sole=True), T0 + DAY, None),
    # The retention cap: every version, whatever the rules.
    Case(
        "cap: current version removed",
        (),
        current(),
        T0 + 4,
        (Action.REMOVE, Reason.RETENTION_CAP, MAX_RETENTION_RULE_ID),
        Timing(2.0, 2),
    ),
    Case("cap: young", (), current(), T0 + 3.9, None, Timing(2.0, 2)),
    Case(
        "cap: noncurrent by creation",
        (),
        noncurrent(T0 + 3),
        T0 + 4,
        (Action.REMOVE, Reason.RETENTION_CAP, MAX_RETENTION_RULE_ID),
        Timing(2.0, 2),
    ),
    Case("cap: marker hiding versions stays", (), marker(sole=False), T0 + 9, None, Timing(2.0, 2)),
    Case(
        "cap: lone marker",
        (),
        marker(sole=True),
        T0 + 9,
        (Action.REMOVE, Reason.RETENTION_CAP, MAX_RETENTION_RULE_ID),
        Timing(2.0, 2),
    ),
    Case(
        "cap wins over a due expiry (removal goes further)",
        (_rule("e1", expiration=Expiration(days=1)),),
        current(),
        T0 + 5,
        (Action.REMOVE, Reason.RETENTION_CAP, MAX_RETENTION_RULE_ID),
        Timing(2.0, 2),
    ),
    Case(
        "expiry before the cap",
        (_rule("e1", expiration=Expiration(days=1)),),
        current(),
        T0 + 3,
        (Action.EXPIRE, Reason.EXPIRATION, "e1"),
        Timing(2.0, 2),
    ),
    Case(
        "the earliest of two rules",
        (_rule("late", expiration=Expiration(days=5)), _rule("early", expiration=Expiration(2))),
        current(),
        T0 + 100,
        (Action.EXPIRE, Reason.EXPIRATION, "early"),
        SCALED,
    ),
]


@pytest.mark.parametrize("case", CASES + FILTER_CASES, ids=[c.name for c in CASES + FILTER_CASES])
def test_due_for_version(case: Case) -> None:
    due = due_for_version(case.rules, case.version, case.now, case.timing)
    got = None if due is None else (due.action, due.reason, due.rule_id)
    assert got == case.expected


def test_after_days_rounds_to_next_midnight() -> None:
    assert Timing().after_days(T0, 1) == MIDNIGHT_AFTER_T0 + DAY
    assert Timing().after_days(MIDNIGHT_AFTER_T0, 1) == MIDNIGHT_AFTER_T0 + 2 * DAY
    assert Timing(day_seconds=3).after_days(T0, 2) == T0 + 6


def test_current_expiration_header_value() -> None:
    rules = (_rule("late", expiration=Expiration(days=5)), _rule("soon", expiration=Expiration(1)))
    assert current_expiration(rules, key="k", size=1, tags={}, created=T0) == (
        MIDNIGHT_AFTER_T0 + DAY,
        "soon",
    )
    assert current_expiration((NONCURRENT_2,), key="k", size=1, tags={}, created=T0) is None
    capped = current_expiration((), key="k", size=1, tags={}, created=T0, timing=Timing(2.0, 3))
    assert capped == (T0 + 6, MAX_RETENTION_RULE_ID)


def test_due_for_upload() -> None:
    abort = _rule("mpu", abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(2))
    assert due_for_upload((abort,), key="k", initiated=T0, now=T0 + 3.9, timing=SCALED) is None
    due = due_for_upload((abort,), key="k", initiated=T0, now=T0 + 4, timing=SCALED)
    assert due is not None and due.action is Action.ABORT_UPLOAD and due.rule_id == "mpu"
    logs = Rule(
        "Enabled",
        "l",
        Filter(prefix="logs/"),
        abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(1),
    )
    assert due_for_upload((logs,), key="x", initiated=T0, now=T0 + 99, timing=SCALED) is None
    capped = due_for_upload((), key="x", initiated=T0, now=T0 + 2, timing=Timing(2.0, 1))
    assert capped is not None and capped.reason is Reason.RETENTION_CAP


def test_what_is_scanned() -> None:
    abort = _rule("mpu", abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(2))
    assert not scans_versions((), Timing())
    assert scans_versions((), Timing(max_retention_days=1))
    assert not scans_versions((abort, DISABLED), Timing())
    assert scans_versions((EXPIRE_3,), Timing())
    assert scans_uploads((abort,), Timing()) and not scans_uploads((EXPIRE_3,), Timing())


def test_newer_noncurrent_versions_keeps_exactly_n() -> None:
    """A key's noncurrent versions, newest first: with NewerNoncurrentVersions 3, the three
    newest stay however old they are, and every older one goes once NoncurrentDays passed."""
    keep3 = _rule("keep3", noncurrent_version_expiration=NoncurrentVersionExpiration(1, 3))
    versions = [noncurrent(T0 + i, newer=i) for i in range(7)]
    due = [due_for_version((keep3,), v, LATER) for v in versions]
    assert [d is not None for d in due] == [False, False, False, True, True, True, True]
    # Not yet NoncurrentDays old: even the extra versions stay.
    young = [due_for_version((keep3,), v, T0 + DAY / 2) for v in versions]
    assert young == [None] * 7


def test_abort_upload_at_the_right_age() -> None:
    """DaysAfterInitiation: initiation + days, rounded up to the next midnight UTC."""
    abort = _rule("mpu", abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(2))
    due_at = MIDNIGHT_AFTER_T0 + 2 * DAY
    assert due_for_upload((abort,), key="k", initiated=T0, now=due_at - 1) is None
    due = due_for_upload((abort,), key="k", initiated=T0, now=due_at)
    assert due is not None and due.at == due_at and due.reason is Reason.ABORT_INCOMPLETE_UPLOAD
    disabled = Rule(
        "Disabled",
        "off",
        Filter(),
        abort_incomplete_multipart_upload=abort.abort_incomplete_multipart_upload,
    )
    assert due_for_upload((disabled,), key="k", initiated=T0, now=LATER) is None


def test_current_expiration_of_a_date_rule() -> None:
    got = current_expiration((EXPIRE_DATE,), key="k", size=1, tags={}, created=T0)
    assert got == (MIDNIGHT_AFTER_T0 + 10 * DAY, "date")
