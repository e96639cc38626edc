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


def current(key: str = "k", **kw: object) -> VersionFacts:
    return VersionFacts(key=key, created=T0, size=10, **kw)  # type: ignore[arg-type]


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


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
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
