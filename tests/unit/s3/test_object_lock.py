"""gateway.s3.object_lock: what retention and legal holds allow, as tables."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, ObjectVersion, RetentionFields
from gateway.s3.object_lock import (
    COMPLIANCE,
    GOVERNANCE,
    LEGAL_HOLD_HEADER,
    MODE_HEADER,
    UNTIL_HEADER,
    DefaultRetention,
    ObjectLockConfiguration,
    Retention,
    check_removal,
    check_retention_change,
    completed_upload_fields,
    default_until,
    is_protected,
    lock_headers,
    parse_lock_headers,
    parse_timestamp,
    removal_check,
    require_object_lock,
    validate_configuration,
    with_retention,
    write_retention,
)

NOW = 1_700_000_000.0
LATER = NOW + 1000
MUCH_LATER = NOW + 2000


def version(
    mode: str | None = None, until: float | None = None, hold: bool = False
) -> ObjectVersion:
    return ObjectVersion(
        "b", "k", "v1", NOW - 10, retention_mode=mode, retain_until=until, legal_hold=hold
    )


PROTECTION = [
    ("nothing", version(), False, False),
    ("legal hold", version(hold=True), False, True),
    ("legal hold ignores bypass", version(hold=True), True, True),
    ("governance", version(GOVERNANCE, LATER), False, True),
    ("governance bypassed", version(GOVERNANCE, LATER), True, False),
    ("compliance", version(COMPLIANCE, LATER), True, True),
    ("expired compliance", version(COMPLIANCE, NOW - 1), False, False),
]


@pytest.mark.parametrize(
    ("name", "v", "bypass", "protected"), PROTECTION, ids=[p[0] for p in PROTECTION]
)
def test_protection(name: str, v: ObjectVersion, bypass: bool, protected: bool) -> None:
    assert is_protected(v, now=NOW, bypass_governance=bypass) is protected
    if protected:
        with pytest.raises(S3Error) as err:
            check_removal(v, now=NOW, bypass_governance=bypass)
        assert err.value.code is S3ErrorCode.ACCESS_DENIED
    else:
        check_removal(v, now=NOW, bypass_governance=bypass)


G, C, R = GOVERNANCE, COMPLIANCE, Retention

CHANGES = [
    ("set on a free version", version(), R(G, LATER), False, True),
    ("extend compliance", version(C, LATER), R(C, MUCH_LATER), False, True),
    ("shorten compliance", version(C, MUCH_LATER), R(C, LATER), True, False),
    ("remove compliance", version(C, LATER), R(), True, False),
    ("compliance to governance", version(C, LATER), R(G, MUCH_LATER), True, False),
    ("extend governance", version(G, LATER), R(G, MUCH_LATER), False, True),
    ("governance to compliance", version(G, LATER), R(C, LATER), False, False),
    ("governance to compliance, bypass", version(G, LATER), R(C, MUCH_LATER), True, True),
    ("shorten governance", version(G, MUCH_LATER), R(G, LATER), False, False),
    ("shorten governance, bypass", version(G, MUCH_LATER), R(G, LATER), True, True),
    ("remove governance", version(G, LATER), R(), False, False),
    ("remove governance, bypass", version(G, LATER), R(), True, True),
    ("anything once expired", version(C, NOW - 1), R(), False, True),
]


@pytest.mark.parametrize(
    ("name", "v", "new", "bypass", "allowed"), CHANGES, ids=[c[0] for c in CHANGES]
)
def test_retention_change(
    name: str, v: ObjectVersion, new: Retention, bypass: bool, allowed: bool
) -> None:
    if allowed:
        check_retention_change(v, new, now=NOW, bypass_governance=bypass)
        return
    with pytest.raises(S3Error) as err:
        check_retention_change(v, new, now=NOW, bypass_governance=bypass)
    assert err.value.code is S3ErrorCode.ACCESS_DENIED


def test_retention_must_be_in_the_future() -> None:
    with pytest.raises(S3Error) as err:
        check_retention_change(
            version(), Retention(GOVERNANCE, NOW), now=NOW, bypass_governance=False
        )
    assert err.value.code is S3ErrorCode.INVALID_ARGUMENT


MODE, UNTIL_H = "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date"
HEADERS = [
    ({}, (None, None, None)),
    ({MODE: "GOVERNANCE", UNTIL_H: "2030-01-01T00:00:00Z"}, ("GOVERNANCE", 1_893_456_000.0, None)),
    ({"x-amz-object-lock-legal-hold": "ON"}, (None, None, True)),
    ({"x-amz-object-lock-legal-hold": "OFF"}, (None, None, False)),
]


@pytest.mark.parametrize(("headers", "expected"), HEADERS)
def test_parse_lock_headers(
    headers: dict[str, str], expected: tuple[str | None, float | None, bool | None]
) -> None:
    got = parse_lock_headers(headers, now=NOW)
    assert (got.mode, got.retain_until, got.legal_hold) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-object-lock-mode": "GOVERNANCE"},
        {"x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"},
        {"x-amz-object-lock-mode": "STRICT", "x-amz-object-lock-retain-until-date": "2030-01-01"},
        {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "soon"},
        {
            "x-amz-object-lock-mode": "GOVERNANCE",
            "x-amz-object-lock-retain-until-date": "2001-01-01",
        },
        {"x-amz-object-lock-legal-hold": "yes"},
    ],
)
def test_parse_lock_headers_invalid(headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as err:
        parse_lock_headers(headers, now=NOW)
    assert err.value.code is S3ErrorCode.INVALID_ARGUMENT


def test_configuration_validation_and_default() -> None:
    validate_configuration(ObjectLockConfiguration())
    rule = DefaultRetention(COMPLIANCE, years=1)
    validate_configuration(ObjectLockConfiguration(True, rule))
    assert default_until(rule, NOW) == NOW + 365 * 86400
    for bad, code in [
        (DefaultRetention(COMPLIANCE, days=1, years=1), S3ErrorCode.MALFORMED_XML),
        (DefaultRetention(COMPLIANCE), S3ErrorCode.MALFORMED_XML),
        (DefaultRetention("NONE", days=1), S3ErrorCode.MALFORMED_XML),
        (DefaultRetention(GOVERNANCE, days=0), S3ErrorCode.INVALID_RETENTION_PERIOD),
        (DefaultRetention(GOVERNANCE, years=101), S3ErrorCode.INVALID_RETENTION_PERIOD),
    ]:
        with pytest.raises(S3Error) as err:
            validate_configuration(ObjectLockConfiguration(True, bad))
        assert err.value.code is code


def test_lock_headers_and_timestamps() -> None:
    assert lock_headers(version()) == {}
    assert lock_headers(version(GOVERNANCE, 1_893_456_000.0, hold=True)) == {
        "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00.000Z",
        "x-amz-object-lock-legal-hold": "ON",
    }
    assert parse_timestamp("2030-01-01T00:00:00.000Z") == 1_893_456_000.0
    assert parse_timestamp("2030-01-01T01:00:00+01:00") == 1_893_456_000.0
    assert parse_timestamp("not a date") is None


# -- what a write gives its new version -------------------------------------------------------

LOCKED = Bucket("b", "alice", NOW, versioning="Enabled", object_lock=True)
PLAIN = Bucket("p", "alice", NOW)
UNTIL_TEXT = "2030-01-01T00:00:00Z"
UNTIL = parse_timestamp(UNTIL_TEXT)


def test_require_object_lock() -> None:
    require_object_lock(LOCKED)
    with pytest.raises(S3Error) as err:
        require_object_lock(PLAIN)
    assert err.value.code is S3ErrorCode.INVALID_REQUEST


def test_write_retention_lock_headers_need_a_lock_bucket() -> None:
    headers = {MODE_HEADER: GOVERNANCE, UNTIL_HEADER: UNTIL_TEXT}
    with pytest.raises(S3Error) as err:
        write_retention(PLAIN, {}, headers, None, now=NOW)
    assert err.value.code is S3ErrorCode.INVALID_REQUEST
    # Tags alone are fine anywhere.
    assert write_retention(PLAIN, {"a": "1"}, {}, None, now=NOW).fields(NOW).tags == {"a": "1"}


def test_write_retention_explicit_lock_wins_over_the_default() -> None:
    headers = {MODE_HEADER: COMPLIANCE, UNTIL_HEADER: UNTIL_TEXT, LEGAL_HOLD_HEADER: "ON"}
    default = DefaultRetention(GOVERNANCE, days=1)
    retention = write_retention(LOCKED, {"a": "1"}, headers, default, now=NOW)
    expected = RetentionFields({"a": "1"}, COMPLIANCE, UNTIL, True)
    assert retention.fields(NOW) == expected
    assert retention.explicit() == expected


def test_write_retention_default_applies_as_of_creation() -> None:
    retention = write_retention(LOCKED, {}, {}, DefaultRetention(GOVERNANCE, days=2), now=NOW)
    assert retention.fields(LATER) == RetentionFields({}, GOVERNANCE, LATER + 2 * 86400, False)
    assert retention.explicit() == RetentionFields()


def test_completed_upload_fields() -> None:
    default = DefaultRetention(COMPLIANCE, days=1)
    asked = RetentionFields({"t": "v"}, GOVERNANCE, MUCH_LATER)
    assert completed_upload_fields(asked, default, NOW) == asked
    assert completed_upload_fields(RetentionFields(), None, NOW) == RetentionFields()
    assert completed_upload_fields(RetentionFields({"t": "v"}), default, NOW) == RetentionFields(
        {"t": "v"}, COMPLIANCE, NOW + 86400
    )


def test_with_retention() -> None:
    fields = RetentionFields({"t": "v"}, COMPLIANCE, LATER, True)
    changed = with_retention(version(), fields)
    assert (changed.tags, changed.retention_mode, changed.retain_until, changed.legal_hold) == (
        {"t": "v"},
        COMPLIANCE,
        LATER,
        True,
    )


@pytest.mark.parametrize(("bypass", "refused"), [(False, True), (True, False)])
def test_removal_check(bypass: bool, refused: bool) -> None:
    check = removal_check(now=NOW, bypass_governance=bypass)
    if not refused:
        check(version(GOVERNANCE, LATER), sole=True)
        return
    with pytest.raises(S3Error) as err:
        check(version(GOVERNANCE, LATER), sole=True)
    assert err.value.code is S3ErrorCode.ACCESS_DENIED
