from __future__ import annotations

import pytest

from auth.policy.conditions import (
    ConditionClause,
    SetOperator,
    arn_match,
    evaluate,
    parse_date,
    parse_operator,
    value_is_valid,
)

ABSENT = None
V = tuple[str, ...]


def clause(operator: str, *values: str) -> ConditionClause:
    parsed = parse_operator(operator)
    assert parsed is not None, operator
    base, set_operator, if_exists = parsed
    return ConditionClause(operator, base, "k", values, if_exists, set_operator)


# (operator, policy values, request values or ABSENT, expected)
CASES: list[tuple[str, V, V | None, bool]] = [
    # -- String
    ("StringEquals", ("a",), ("a",), True),
    ("StringEquals", ("a",), ("A",), False),
    ("StringEquals", ("a", "b"), ("b",), True),  # values of one key are ORed
    ("StringEquals", ("a",), ABSENT, False),
    ("StringNotEquals", ("a",), ("b",), True),
    ("StringNotEquals", ("a", "b"), ("b",), False),
    ("StringNotEquals", ("a",), ABSENT, True),  # a negated operator holds when absent
    ("StringEqualsIgnoreCase", ("Public-Read",), ("public-read",), True),
    ("StringNotEqualsIgnoreCase", ("Public-Read",), ("public-read",), False),
    ("StringNotEqualsIgnoreCase", ("Public-Read",), ("private",), True),
    ("StringLike", ("home/*",), ("home/alice/x",), True),
    ("StringLike", ("home/?",), ("home/ab",), False),
    ("StringLike", ("home/*",), ABSENT, False),
    ("StringNotLike", ("home/*",), ("etc/x",), True),
    ("StringNotLike", ("home/*",), ("home/x",), False),
    ("StringNotLike", ("home/*",), ABSENT, True),
    # -- IfExists: absent is true, present evaluates normally
    ("StringEqualsIfExists", ("a",), ABSENT, True),
    ("StringEqualsIfExists", ("a",), ("b",), False),
    ("StringLikeIfExists", ("a*",), ("ab",), True),
    ("NumericLessThanIfExists", ("10",), ABSENT, True),
    ("NumericLessThanIfExists", ("10",), ("11",), False),
    ("StringNotEqualsIfExists", ("a",), ("a",), False),
    # -- Numeric
    ("NumericEquals", ("10",), ("10",), True),
    ("NumericEquals", ("10",), ("10.0",), True),
    ("NumericEquals", ("10",), ("x",), False),
    ("NumericNotEquals", ("10",), ("11",), True),
    ("NumericNotEquals", ("10",), ("10",), False),
    ("NumericLessThan", ("10",), ("9",), True),
    ("NumericLessThan", ("10",), ("10",), False),
    ("NumericLessThanEquals", ("10",), ("10",), True),
    ("NumericGreaterThan", ("10",), ("11",), True),
    ("NumericGreaterThan", ("10",), ("10",), False),
    ("NumericGreaterThanEquals", ("10",), ("10",), True),
    ("NumericGreaterThanEquals", ("10",), ("9",), False),
    ("NumericLessThan", ("10",), ABSENT, False),
    # -- Date (ISO 8601 or epoch seconds, either side)
    ("DateEquals", ("2026-01-01T00:00:00Z",), ("2026-01-01T00:00:00Z",), True),
    ("DateEquals", ("2026-01-01",), ("2026-01-01T00:00:00Z",), True),
    ("DateEquals", ("1767225600",), ("2026-01-01T00:00:00Z",), True),
    ("DateNotEquals", ("2026-01-01T00:00:00Z",), ("2026-01-02T00:00:00Z",), True),
    ("DateLessThan", ("2026-01-01T00:00:00Z",), ("2025-12-31T23:59:59Z",), True),
    ("DateLessThan", ("2026-01-01T00:00:00Z",), ("2026-01-01T00:00:00Z",), False),
    ("DateLessThanEquals", ("2026-01-01T00:00:00Z",), ("2026-01-01T00:00:00Z",), True),
    ("DateGreaterThan", ("2026-01-01T00:00:00Z",), ("2026-01-01T00:00:01Z",), True),
    ("DateGreaterThanEquals", ("2026-01-01T00:00:00+01:00",), ("2025-12-31T23:00:00Z",), True),
    ("DateGreaterThan", ("2026-01-01T00:00:00Z",), ("not a date",), False),
    # -- Bool
    ("Bool", ("true",), ("true",), True),
    ("Bool", ("false",), ("true",), False),
    ("Bool", ("True",), ("true",), True),
    ("Bool", ("false",), ABSENT, False),
    ("BoolIfExists", ("false",), ABSENT, True),
    # -- Binary
    ("BinaryEquals", ("QmluYXJ5",), ("QmluYXJ5",), True),
    ("BinaryEquals", ("QmluYXJ5",), ("T3RoZXI=",), False),
    # -- IP addresses, IPv4 and IPv6
    ("IpAddress", ("192.0.2.0/24",), ("192.0.2.7",), True),
    ("IpAddress", ("192.0.2.0/24",), ("192.0.3.7",), False),
    ("IpAddress", ("192.0.2.7",), ("192.0.2.7",), True),  # a bare address is a /32
    ("IpAddress", ("192.0.2.0/24",), ("::ffff:192.0.2.9",), True),  # IPv4-mapped
    ("IpAddress", ("2001:db8::/32",), ("2001:db8:1::5",), True),
    ("IpAddress", ("2001:db8::/32",), ("2001:db9::5",), False),
    ("IpAddress", ("2001:db8::/32",), ("192.0.2.1",), False),
    ("IpAddress", ("192.0.2.0/24", "2001:db8::/32"), ("2001:db8::1",), True),
    ("IpAddress", ("192.0.2.0/24",), ("garbage",), False),
    ("IpAddress", ("192.0.2.0/24",), ABSENT, False),
    ("NotIpAddress", ("192.0.2.0/24",), ("198.51.100.1",), True),
    ("NotIpAddress", ("192.0.2.0/24",), ("192.0.2.1",), False),
    ("NotIpAddress", ("192.0.2.0/24",), ABSENT, True),
    # -- ARN (component by component, with wildcards)
    ("ArnEquals", ("arn:aws:iam::111:user/alice",), ("arn:aws:iam::111:user/alice",), True),
    ("ArnLike", ("arn:aws:iam::*:user/*",), ("arn:aws:iam::111:user/alice",), True),
    ("ArnLike", ("arn:aws:iam::222:*",), ("arn:aws:iam::111:user/alice",), False),
    ("ArnLike", ("arn:aws:s3:::b/*",), ("arn:aws:s3:::b/k:with:colons",), True),
    ("ArnLike", ("arn:aws:s3:::b/*",), ("not-an-arn",), False),
    ("ArnNotEquals", ("arn:aws:iam::111:root",), ("arn:aws:iam::222:root",), True),
    ("ArnNotLike", ("arn:aws:iam::111:*",), ("arn:aws:iam::111:root",), False),
    ("ArnNotLike", ("arn:aws:iam::111:*",), ABSENT, True),
    # -- Null tests presence
    ("Null", ("true",), ABSENT, True),
    ("Null", ("true",), ("x",), False),
    ("Null", ("false",), ("x",), True),
    ("Null", ("false",), ABSENT, False),
    ("Null", ("true",), (), True),  # an empty set is absent
    # -- multi-valued request keys with a plain operator: any value matching
    ("StringEquals", ("a",), ("b", "a"), True),
    ("StringNotEquals", ("a",), ("b", "a"), False),
    # -- ForAnyValue: at least one request value satisfies
    ("ForAnyValue:StringEquals", ("a", "b"), ("c", "b"), True),
    ("ForAnyValue:StringEquals", ("a", "b"), ("c", "d"), False),
    ("ForAnyValue:StringEquals", ("a",), ABSENT, False),
    ("ForAnyValue:StringEqualsIfExists", ("a",), ABSENT, True),
    ("ForAnyValue:StringNotEquals", ("a",), ("a", "b"), True),
    ("ForAnyValue:StringNotEquals", ("a",), ("a",), False),
    ("ForAnyValue:StringLike", ("env*",), ("owner", "environment"), True),
    # -- ForAllValues: every request value satisfies (absent / empty is true)
    ("ForAllValues:StringEquals", ("a", "b"), ("a", "b"), True),
    ("ForAllValues:StringEquals", ("a", "b"), ("a", "c"), False),
    ("ForAllValues:StringEquals", ("a",), ABSENT, True),
    ("ForAllValues:StringEquals", ("a",), (), True),
    ("ForAllValues:StringNotEquals", ("secret",), ("a", "b"), True),
    ("ForAllValues:StringNotEquals", ("secret",), ("a", "secret"), False),
    ("ForAllValues:StringLike", ("p-*",), ("p-1", "p-2"), True),
    ("ForAllValues:NumericLessThan", ("5",), ("1", "7"), False),
    ("ForAllValues:IpAddress", ("10.0.0.0/8",), ("10.1.1.1", "10.2.2.2"), True),
]


@pytest.mark.parametrize(("operator", "wanted", "actual", "expected"), CASES)
def test_condition_operator(operator: str, wanted: V, actual: V | None, expected: bool) -> None:
    assert evaluate(clause(operator, *wanted), actual) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("StringEquals", ("StringEquals", None, False)),
        ("StringLikeIfExists", ("StringLike", None, True)),
        ("ForAllValues:StringEquals", ("StringEquals", SetOperator.FOR_ALL_VALUES, False)),
        ("ForAnyValue:ArnLikeIfExists", ("ArnLike", SetOperator.FOR_ANY_VALUE, True)),
        ("Null", ("Null", None, False)),
        ("NullIfExists", None),
        ("ForAnyValue:Null", None),
        ("StringEqual", None),
        ("stringequals", None),  # operator names are case-sensitive
        ("ForSomeValues:StringEquals", None),
        ("IfExists", None),
    ],
)
def test_parse_operator(name: str, expected: object) -> None:
    assert parse_operator(name) == expected


@pytest.mark.parametrize(
    ("base", "value", "valid"),
    [
        ("NumericLessThan", "10", True),
        ("NumericLessThan", "ten", False),
        ("DateLessThan", "2026-01-01T00:00:00Z", True),
        ("DateLessThan", "yesterday", False),
        ("Bool", "TRUE", True),
        ("Bool", "yes", False),
        ("Null", "false", True),
        ("Null", "maybe", False),
        ("IpAddress", "10.0.0.0/8", True),
        ("IpAddress", "2001:db8::/32", True),
        ("IpAddress", "10.0.0.0/33", False),
        ("NotIpAddress", "not-an-ip", False),
        ("StringEquals", "anything", True),
        ("DateLessThan", "${aws:CurrentTime}", True),  # a variable is checked at use
    ],
)
def test_value_is_valid(base: str, value: str, valid: bool) -> None:
    assert value_is_valid(base, value) is valid


def test_parse_date_forms() -> None:
    assert parse_date("2026-01-01") == parse_date("2026-01-01T00:00:00Z")
    assert parse_date("1767225600") == parse_date("2026-01-01T00:00:00+00:00")
    assert parse_date("bad") is None


def test_arn_match_star_matches_anything() -> None:
    assert arn_match("whatever", "*")
