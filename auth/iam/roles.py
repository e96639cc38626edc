"""IAM roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateRole, UpdateAssumeRolePolicy.

A role's permission policies are the inline/attached operations of kind "role"
(auth/iam/operations.py builds them); who may assume it is its trust policy
(AssumeRolePolicyDocument: Principal, sts:* actions, no Resource; auth/policy/model.py
PolicyKind.TRUST). https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
"""

from __future__ import annotations

from auth.credentials import new_iam_id
from auth.iam.api import Call, Operation, Result
from auth.iam.entities import get_entity, list_entities
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.render import Element
from auth.iam.shapes import arn, encode_document, iso
from auth.policy.model import MalformedPolicy, PolicyKind, PolicyTooLarge, parse_policy
from gateway.meta.base import IamRole

MAX_TRUST_POLICY_CHARS = 2048
MIN_SESSION_SECONDS = 3600  # MaxSessionDuration's bounds (CreateRole)
MAX_SESSION_SECONDS = 43200


def check_trust_policy(document: str) -> str:
    try:
        parse_policy(document, PolicyKind.TRUST, max_chars=MAX_TRUST_POLICY_CHARS)
    except PolicyTooLarge as exc:
        raise IamError(IamErrorCode.LIMIT_EXCEEDED, exc.reason) from exc
    except MalformedPolicy as exc:
        raise IamError(IamErrorCode.MALFORMED_POLICY_DOCUMENT, exc.reason) from exc
    return document


def role_shape(role: IamRole, account_id: str) -> list[Element]:
    return [
        ("Path", role.path),
        ("RoleName", role.name),
        ("RoleId", role.role_id),
        ("Arn", arn(account_id, "role", role.path, role.name)),
        ("CreateDate", iso(role.created)),
        ("AssumeRolePolicyDocument", encode_document(role.trust_policy)),
        ("Description", role.description),
        ("MaxSessionDuration", str(role.max_session_duration)),
    ]


def role_name(call: Call) -> str:
    name = call.params.name("RoleName", max_len=64)
    assert name is not None  # required
    return name


async def role_arn(call: Call) -> str:
    name = call.params.get("RoleName") or ""
    role = await call.meta.get_iam_role(call.account, name)
    path = role.path if role is not None else call.params.get("Path") or "/"
    return arn(call.account_id, "role", path, name)


def _max_session(call: Call) -> int | None:
    value = call.params.get("MaxSessionDuration")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        number = -1
    else:
        number = int(value)
    if not MIN_SESSION_SECONDS <= number <= MAX_SESSION_SECONDS:
        raise IamError(
            IamErrorCode.VALIDATION_ERROR,
            f"1 validation error detected: Value '{value[:32]}' at 'maxSessionDuration' failed "
            f"to satisfy constraint: Member must have value between {MIN_SESSION_SECONDS} and "
            f"{MAX_SESSION_SECONDS}",
        )
    return number


def _description(call: Call) -> str | None:
    value = call.params.get("Description")
    if value is not None and len(value) > 1000:
        raise IamError(IamErrorCode.VALIDATION_ERROR, "Description is longer than 1000")
    return value


async def create_role(call: Call) -> Result:
    role = await call.meta.create_iam_role(
        IamRole(
            call.account,
            role_name(call),
            new_iam_id("AROA"),
            call.params.path(),
            check_trust_policy(call.params.required("AssumeRolePolicyDocument")),
            _max_session(call) or MIN_SESSION_SECONDS,
            call.now,
            _description(call),
        )
    )
    return [("Role", role_shape(role, call.account_id))]


async def get_role(call: Call) -> Result:
    name = role_name(call)
    return await get_entity(call, "role", name, call.meta.get_iam_role, role_shape, "Role")


async def list_roles(call: Call) -> Result:
    return await list_entities(call, call.meta.list_iam_roles, role_shape, "Roles")


async def delete_role(call: Call) -> Result:
    await call.meta.delete_iam_role(call.account, role_name(call))
    return None


async def update_role(call: Call) -> Result:
    await call.meta.update_iam_role(
        call.account,
        role_name(call),
        max_session_duration=_max_session(call),
        description=_description(call),
    )
    return []


async def update_assume_role_policy(call: Call) -> Result:
    document = check_trust_policy(call.params.required("PolicyDocument"))
    await call.meta.update_iam_role(call.account, role_name(call), trust_policy=document)
    return None


ROLE_OPERATIONS = {
    "CreateRole": Operation(create_role, role_arn),
    "GetRole": Operation(get_role, role_arn),
    "DeleteRole": Operation(delete_role, role_arn),
    "UpdateRole": Operation(update_role, role_arn),
    "UpdateAssumeRolePolicy": Operation(update_assume_role_policy, role_arn),
}
