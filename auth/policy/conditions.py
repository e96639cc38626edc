"""Condition operators: one clause (operator, key, values) against the request's values.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

How a clause evaluates (values of one key are ORed; keys and operators are ANDed by the
caller):
- key absent from the request: `...IfExists` -> true; `ForAllValues:` -> true;
  `ForAnyValue:` -> false; a negated operator (StringNotEquals, NotIpAddress, ...) -> true;
  any other -> false. `Null` tests presence itself.
- present, plain operator: true if some request value matches some policy value (a
  negated operator: if none does).
- `ForAnyValue:` true if some request value satisfies the operator; `ForAllValues:` if
  every request value does (for a negated operator "satisfies" means "matches no policy
  value").
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum

from auth.policy.wildcards import glob_match


class SetOperator(Enum):
    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


@dataclass(frozen=True)
class ConditionClause:
    """One `"Operator": {"key": [values]}` entry, after parsing."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str  # e.g. "StringLike"
    key: str
    values: tuple[str, ...]
    if_exists: bool = False
    set_operator: SetOperator | None = None


Compare = Callable[[str, str], bool]


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_date(text: str) -> datetime | None:
    """ISO 8601 (date, or date and time; naive means UTC) or epoch seconds."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        try:
            return datetime.fromtimestamp(int(text), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is the IPv4 client 10.0.0.1
    return address


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Compare:
    def compare(actual: str, wanted: str) -> bool:
        a, w = _number(actual), _number(wanted)
        return a is not None and w is not None and test(a, w)

    return compare


def _date(test: Callable[[datetime, datetime], bool]) -> Compare:
    def compare(actual: str, wanted: str) -> bool:
        a, w = parse_date(actual), parse_date(wanted)
        return a is not None and w is not None and test(a, w)

    return compare


def _in_network(actual: str, wanted: str) -> bool:
    address, network = _ip(actual), parse_network(wanted)
    return address is not None and network is not None and address in network


def _split_arn(arn: str) -> list[str] | None:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def arn_match(actual: str, wanted: str) -> bool:
    """Each of the six `:`-separated ARN components matched on its own, with wildcards."""
    if wanted == "*":
        return True
    a, w = _split_arn(actual), _split_arn(wanted)
    if a is None or w is None:
        return False
    return all(glob_match(wp, ap) for wp, ap in zip(w, a, strict=True))


def _binary(actual: str, wanted: str) -> bool:
    try:
        return base64.b64decode(actual, validate=True) == base64.b64decode(wanted, validate=True)
    except (binascii.Error, ValueError):
        return False


# base operator -> (positive comparison, negated)
OPERATORS: dict[str, tuple[Compare, bool]] = {
    "StringEquals": (lambda a, w: a == w, False),
    "StringNotEquals": (lambda a, w: a == w, True),
    "StringEqualsIgnoreCase": (lambda a, w: a.casefold() == w.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda a, w: a.casefold() == w.casefold(), True),
    "StringLike": (lambda a, w: glob_match(w, a), False),
    "StringNotLike": (lambda a, w: glob_match(w, a), True),
    "NumericEquals": (_numeric(lambda a, w: a == w), False),
    "NumericNotEquals": (_numeric(lambda a, w: a == w), True),
    "NumericLessThan": (_numeric(lambda a, w: a < w), False),
    "NumericLessThanEquals": (_numeric(lambda a, w: a <= w), False),
    "NumericGreaterThan": (_numeric(lambda a, w: a > w), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, w: a >= w), False),
    "DateEquals": (_date(lambda a, w: a == w), False),
    "DateNotEquals": (_date(lambda a, w: a == w), True),
    "DateLessThan": (_date(lambda a, w: a < w), False),
    "DateLessThanEquals": (_date(lambda a, w: a <= w), False),
    "DateGreaterThan": (_date(lambda a, w: a > w), False),
    "DateGreaterThanEquals": (_date(lambda a, w: a >= w), False),
    "Bool": (lambda a, w: a.strip().lower() == w.strip().lower(), False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_in_network, False),
    "NotIpAddress": (_in_network, True),
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
}

# How each family's policy values must look (checked when a policy is stored).
_VALUE_CHECKS: dict[str, Callable[[str], bool]] = {
    "Numeric": lambda v: _number(v) is not None,
    "Date": lambda v: parse_date(v) is not None,
    "Bool": lambda v: v.strip().lower() in ("true", "false"),
    "Null": lambda v: v.strip().lower() in ("true", "false"),
    "IpAddress": lambda v: parse_network(v) is not None,
    "NotIpAddress": lambda v: parse_network(v) is not None,
}


def parse_operator(name: str) -> tuple[str, SetOperator | None, bool] | None:
    """(base, set operator, if_exists) of an operator name, or None if it is unknown."""
    set_operator = None
    prefix, colon, rest = name.partition(":")
    if colon:
        try:
            set_operator = SetOperator(prefix)
        except ValueError:
            return None
        name = rest
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    if base == "Null":
        return None if (if_exists or set_operator) else (base, None, False)
    if base not in OPERATORS:
        return None
    return base, set_operator, if_exists


def value_is_valid(base: str, value: str) -> bool:
    """Whether `value` can ever be compared by `base` (a variable is checked at use)."""
    if "${" in value:
        return True
    for family, check in _VALUE_CHECKS.items():
        if base.startswith(family):
            return check(value)
    return True


def evaluate(clause: ConditionClause, actual: tuple[str, ...] | None) -> bool:
    """The clause against the request's values of its key (None: the key is absent)."""
    present = bool(actual)
    if clause.base == "Null":
        return any((v.strip().lower() == "true") != present for v in clause.values)
    if not present or actual is None:
        if clause.if_exists or clause.set_operator is SetOperator.FOR_ALL_VALUES:
            return True
        if clause.set_operator is SetOperator.FOR_ANY_VALUE:
            return False
        return OPERATORS[clause.base][1]
    compare, negated = OPERATORS[clause.base]

    def matches(value: str) -> bool:
        return any(compare(value, wanted) for wanted in clause.values)

    if clause.set_operator is None:
        hit = any(matches(value) for value in actual)
        return not hit if negated else hit
    satisfied = (matches(value) != negated for value in actual)
    if clause.set_operator is SetOperator.FOR_ALL_VALUES:
        return all(satisfied)
    return any(satisfied)
