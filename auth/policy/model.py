"""The policy document: parse JSON into frozen values, or MalformedPolicy with the reason.

Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Elements: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
Bucket policies (resource-based) must name a Principal or NotPrincipal and S3 resources of
their own bucket; identity policies (IAM users, groups, managed policies) must not name a
principal. Sizes: a bucket policy is at most 20 KB
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html); IAM counts
characters without whitespace: 2,048 for a user's inline policies, 5,120 for a group's,
6,144 for a managed policy (IAM quotas page).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from auth.policy.conditions import ConditionClause, parse_operator, value_is_valid
from auth.policy.keys import is_known_s3_key
from auth.policy.s3_actions import S3_ACTIONS

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
MAX_BUCKET_POLICY_BYTES = 20 * 1024
MAX_USER_POLICY_CHARS = 2048
MAX_GROUP_POLICY_CHARS = 5120
MAX_MANAGED_POLICY_CHARS = 6144
MAX_ROLE_POLICY_CHARS = 10240


class MalformedPolicy(ValueError):
    """The document is not a valid policy; `reason` says why (S3's MalformedPolicy,
    IAM's MalformedPolicyDocument)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PolicyTooLarge(MalformedPolicy):
    """Over the size limit (IAM answers LimitExceeded, S3 MalformedPolicy)."""


class PolicyKind(Enum):
    BUCKET = "bucket"
    IDENTITY = "identity"
    TRUST = "trust"  # a role's AssumeRolePolicyDocument: Principal, sts actions, no Resource


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Principals:
    """A Principal / NotPrincipal element. `everyone` is `"*"` or `{"AWS": "*"}`."""

    everyone: bool = False
    aws: tuple[str, ...] = ()  # account ids, account root ARNs, user ARNs
    canonical_users: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    sid: str | None = None
    not_action: bool = False  # `actions` came from NotAction
    not_resource: bool = False  # `resources` came from NotResource
    principals: Principals | None = None
    not_principal: bool = False  # `principals` came from NotPrincipal
    conditions: tuple[ConditionClause, ...] = ()
    index: int = 0  # position in the document, for audit when there is no Sid


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = VERSION_2008
    id: str | None = None

    @property
    def expands_variables(self) -> bool:
        """Policy variables exist from version 2012-10-17 on; before, `${...}` is literal."""
        return self.version == VERSION_2012


_STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
     "NotResource", "Condition"}
)  # fmt: skip
_PRINCIPAL_TYPES = {"AWS", "CanonicalUser", "Service", "Federated"}


def parse_policy(
    document: str | bytes,
    kind: PolicyKind,
    *,
    bucket: str | None = None,
    max_chars: int = MAX_MANAGED_POLICY_CHARS,
) -> Policy:
    """Parse and validate a policy document. For a bucket policy pass its `bucket`.

    `max_chars` bounds an identity policy (non-whitespace characters).
    """
    data = _load(document, kind, max_chars)
    if not isinstance(data, dict):
        raise MalformedPolicy("Policy document must be a JSON object")
    for name in data:
        if name not in ("Version", "Id", "Statement"):
            raise MalformedPolicy(f"Unknown field {name}")
    version = data.get("Version", VERSION_2008)
    if version not in (VERSION_2012, VERSION_2008):
        raise MalformedPolicy("The policy must contain a valid version string")
    policy_id = data.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicy("Id must be a string")
    if "Statement" not in data:
        raise MalformedPolicy("Missing required field Statement")
    raw_statements = data["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise MalformedPolicy("Statement must be an object or a non-empty list")
    statements = tuple(_statement(s, i, kind, bucket) for i, s in enumerate(raw_statements))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique")
    return Policy(statements, version, policy_id)


def _load(document: str | bytes, kind: PolicyKind, max_chars: int) -> Any:
    raw = document.encode() if isinstance(document, str) else document
    if kind is PolicyKind.BUCKET and len(raw) > MAX_BUCKET_POLICY_BYTES:
        raise PolicyTooLarge("Policies must be no larger than 20 KB")
    text = raw.decode(errors="replace")
    limited = kind in (PolicyKind.IDENTITY, PolicyKind.TRUST)
    if limited and sum(not c.isspace() for c in text) > max_chars:
        raise PolicyTooLarge(f"Cannot exceed quota for PolicySize: {max_chars}")
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates)
    except MalformedPolicy:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedPolicy("This policy contains invalid Json") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise MalformedPolicy(f"Duplicate field {name}")
        result[name] = value
    return result


def _strings(value: Any, field: str) -> tuple[str, ...]:
    """A string or a non-empty list of non-empty strings."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise MalformedPolicy(f"{field} must be a non-empty string or list of strings")
    return tuple(items)


def _one_of(raw: dict[str, Any], name: str) -> tuple[Any, bool]:
    plain, negated = raw.get(name), raw.get("Not" + name)
    if plain is not None and negated is not None:
        raise MalformedPolicy(f"Statement cannot have both {name} and Not{name}")
    if plain is None and negated is None:
        raise MalformedPolicy(f"Missing required field {name}")
    return (plain, False) if plain is not None else (negated, True)


def _statement(raw: Any, index: int, kind: PolicyKind, bucket: str | None) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Each statement must be a JSON object")
    for name in raw:
        if name not in _STATEMENT_FIELDS:
            raise MalformedPolicy(f"Unknown field {name}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicy("Sid must be a string")
    if "Effect" not in raw:
        raise MalformedPolicy("Missing required field Effect")
    try:
        effect = Effect(raw["Effect"])
    except (ValueError, TypeError) as exc:
        raise MalformedPolicy(f"Invalid effect: {raw['Effect']}") from exc
    action_value, not_action = _one_of(raw, "Action")
    actions = _strings(action_value, "Action")
    for action in actions:
        _check_action(action, kind)
    if kind is PolicyKind.TRUST:
        if "Resource" in raw or "NotResource" in raw:
            raise MalformedPolicy("Has prohibited field Resource")
        resource_value, not_resource = "*", False  # the role the policy is attached to
    else:
        resource_value, not_resource = _one_of(raw, "Resource")
    resources = _strings(resource_value, "Resource")
    for resource in resources:
        _check_resource(resource, kind, bucket)
    principals, not_principal = None, False
    if kind is PolicyKind.IDENTITY:
        if "Principal" in raw or "NotPrincipal" in raw:
            raise MalformedPolicy("Policy document should not specify a principal")
    else:
        principal_value, not_principal = _one_of(raw, "Principal")
        principals = _principals(principal_value)
    conditions = _conditions(raw.get("Condition", {}), kind)
    return Statement(
        effect, actions, resources, sid or None, not_action, not_resource,
        principals, not_principal, conditions, index,
    )  # fmt: skip


def _check_action(action: str, kind: PolicyKind) -> None:
    if action == "*":
        return
    service, colon, name = action.partition(":")
    if not colon or not service or not name:
        raise MalformedPolicy(f"Policy has invalid action: {action}")
    if kind is PolicyKind.TRUST and service.lower() != "sts":
        raise MalformedPolicy(f"Policy has invalid action: {action}")  # IAM: only sts:*
    if kind is PolicyKind.BUCKET:
        if service.lower() != "s3":
            raise MalformedPolicy(f"Policy has invalid action: {action}")
        if "*" not in name and "?" not in name and action.lower() not in S3_ACTIONS:
            raise MalformedPolicy(f"Policy has invalid action: {action}")


def _check_resource(resource: str, kind: PolicyKind, bucket: str | None) -> None:
    if kind is PolicyKind.TRUST:
        return
    if kind is PolicyKind.IDENTITY:
        if resource != "*" and not resource.startswith("arn:"):
            raise MalformedPolicy(f"Policy has invalid resource: {resource}")
        return
    prefix = "arn:aws:s3:::"
    if not resource.startswith(prefix):
        raise MalformedPolicy("Policy has invalid resource")
    if bucket is not None:
        # S3 accepts only resources of the bucket the policy is attached to.
        name, _, _ = resource[len(prefix) :].partition("/")
        if name != bucket:
            raise MalformedPolicy("Policy has invalid resource")


def _principals(value: Any) -> Principals:
    if value == "*":
        return Principals(everyone=True)
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Invalid principal in policy")
    found: dict[str, tuple[str, ...]] = {}
    for kind, entries in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise MalformedPolicy("Invalid principal in policy")
        found[kind] = _strings(entries, "Principal")
        for entry in found[kind]:
            # Only a whole "*" is a wildcard; IAM matches no part of a principal.
            if entry != "*" and ("*" in entry or "?" in entry):
                raise MalformedPolicy("Invalid principal in policy")
    aws = found.get("AWS", ())
    return Principals(
        everyone="*" in aws,
        aws=tuple(a for a in aws if a != "*"),
        canonical_users=found.get("CanonicalUser", ()),
        services=found.get("Service", ()),
        federated=found.get("Federated", ()),
    )


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise MalformedPolicy("Condition values must be strings, numbers or booleans")


def _conditions(raw: Any, kind: PolicyKind) -> tuple[ConditionClause, ...]:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Condition must be a JSON object")
    clauses: list[ConditionClause] = []
    for operator, block in raw.items():
        parsed = parse_operator(operator)
        if parsed is None:
            raise MalformedPolicy(f"Invalid Condition type : {operator}")
        base, set_operator, if_exists = parsed
        if not isinstance(block, dict) or not block:
            raise MalformedPolicy(f"Condition {operator} must map keys to values")
        for key, values in block.items():
            _check_key(key, kind)
            items = values if isinstance(values, list) else [values]
            if not items:
                raise MalformedPolicy(f"Condition {operator} has no value for {key}")
            strings = tuple(_scalar(v) for v in items)
            for value in strings:
                if not value_is_valid(base, value):
                    raise MalformedPolicy(f"Invalid Condition value for {operator}: {value}")
            clauses.append(ConditionClause(operator, base, key, strings, if_exists, set_operator))
    return tuple(clauses)


def _check_key(key: str, kind: PolicyKind) -> None:
    service, colon, name = key.partition(":")
    if not colon or not service or not name:
        raise MalformedPolicy(f"Policy has an invalid condition key: {key}")
    if kind is PolicyKind.BUCKET:
        lower = service.lower()
        if lower not in ("aws", "s3") or (lower == "s3" and not is_known_s3_key(key)):
            raise MalformedPolicy(f"Policy has an invalid condition key: {key}")


def named_principals(policy: Policy) -> tuple[Principals, ...]:
    """Every Principal / NotPrincipal element, so PutBucketPolicy can check that the
    accounts and users named exist (S3 answers "Invalid principal in policy")."""
    return tuple(s.principals for s in policy.statements if s.principals is not None)
