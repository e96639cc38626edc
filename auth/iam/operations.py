"""The IAM operations this gateway serves: one row per Action, in IAM_API.

Each handler validates its parameters (auth/iam/form.py), calls one MetaStore method
(gateway/meta/iam.py raises NoSuchEntity, DeleteConflict... itself) and returns the
Result elements of the API reference's response
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html).

UserName may be left out of the user-key operations (and GetUser): an IAM user then
acts on itself. An account's own keys are not IAM users' keys; GetUser and ListAccessKeys
describe them, but creating, changing or deleting them is `kloudvault admin key`'s job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from auth.credentials import create_user_access_key, new_iam_id
from auth.iam.api import Api, Call, Operation, Result
from auth.iam.entities import get_entity, list_entities
from auth.iam.errors import IamError, IamErrorCode, no_such_entity
from auth.iam.form import check_policy_document
from auth.iam.oidc_providers import OIDC_OPERATIONS, list_oidc_providers
from auth.iam.render import IAM_NAMESPACE, Element
from auth.iam.roles import ROLE_OPERATIONS, list_roles, role_arn, role_name
from auth.iam.shapes import (
    access_key_shape,
    arn,
    attached_shape,
    encode_document,
    group_shape,
    iso,
    members,
    page_tail,
    parse_policy_arn,
    policy_shape,
    root_arn,
    user_shape,
)
from auth.policy.model import (
    MAX_GROUP_POLICY_CHARS,
    MAX_MANAGED_POLICY_CHARS,
    MAX_ROLE_POLICY_CHARS,
    MAX_USER_POLICY_CHARS,
)
from gateway.meta.base import PolicyOwnerKind

Resource = Callable[[Call], Awaitable[str]]


def _document(call: Call, max_chars: int) -> str:
    return check_policy_document(call.params.required("PolicyDocument"), max_chars)


def _self_or_named(call: Call) -> str | None:
    """UserName, or the calling IAM user itself; None for an account's own key."""
    return call.params.user_name(required=False) or call.caller.user_name


def _named_user(call: Call, what: str) -> str:
    name = _self_or_named(call)
    if name is None:
        raise IamError(
            IamErrorCode.VALIDATION_ERROR,
            f"{what} needs UserName: an account's own access keys are managed with "
            "`kloudvault admin key`",
        )
    return name


def _group(call: Call) -> str:
    name = call.params.name("GroupName")
    assert name is not None  # required
    return name


def _user(call: Call) -> str:
    name = call.params.user_name()
    assert name is not None  # required
    return name


# -- resources: the ARN each action is authorized on -----------------------------------------


async def _user_arn(call: Call) -> str:
    name = _self_or_named(call)
    if name is None:
        return root_arn(call.account_id)
    user = await call.meta.get_iam_user(call.account, name)
    path = user.path if user is not None else call.params.get("Path") or "/"
    return arn(call.account_id, "user", path, name)


async def _group_arn(call: Call) -> str:
    name = call.params.get("GroupName") or ""
    group = await call.meta.get_iam_group(call.account, name)
    path = group.path if group is not None else call.params.get("Path") or "/"
    return arn(call.account_id, "group", path, name)


async def _policy_arn(call: Call) -> str:
    given = call.params.get("PolicyArn")
    if given is not None:
        return given
    path = call.params.get("Path") or "/"
    return arn(call.account_id, "policy", path, call.params.get("PolicyName") or "")


def _listing(kind: str) -> Resource:
    async def resource(call: Call) -> str:
        return arn(call.account_id, kind, call.params.get("PathPrefix") or "/", "*")

    return resource


# -- users -----------------------------------------------------------------------------------


async def create_user(call: Call) -> Result:
    user = await call.meta.create_iam_user(
        call.account,
        _user(call),
        path=call.params.path(),
        user_id=new_iam_id("AIDA"),
        now=call.now,
    )
    return [("User", user_shape(user, call.account_id))]


async def get_user(call: Call) -> Result:
    name = _self_or_named(call)
    if name is None:  # the account itself, as IAM describes its root user
        account = await call.meta.get_user(call.account)
        created = account.created if account is not None else call.now
        return [
            (
                "User",
                [
                    ("Path", "/"),
                    ("UserName", call.account),
                    ("UserId", call.account_id),
                    ("Arn", root_arn(call.account_id)),
                    ("CreateDate", iso(created)),
                ],
            )
        ]
    return await get_entity(call, "user", name, call.meta.get_iam_user, user_shape, "User")


async def list_users(call: Call) -> Result:
    return await list_entities(call, call.meta.list_iam_users, user_shape, "Users")


async def delete_user(call: Call) -> Result:
    await call.meta.delete_iam_user(call.account, _user(call))
    return None


# -- access keys -----------------------------------------------------------------------------


async def create_access_key(call: Call) -> Result:
    name = _named_user(call, "CreateAccessKey")
    key = await create_user_access_key(call.meta, call.sealer, call.account, name, now=call.now)
    return [("AccessKey", access_key_shape(key, name, secret=True))]


async def list_access_keys(call: Call) -> Result:
    name = _self_or_named(call)
    if name is None:
        keys = [k for k in await call.meta.list_access_keys(call.account) if k.iam_user is None]
    else:
        keys = await call.meta.list_user_access_keys(call.account, name)
    marker, max_items = call.params.marker(), call.params.max_items()
    ids = [k.access_key for k in keys]
    start = ids.index(marker) + 1 if marker in ids else 0
    shown = keys[start : start + max_items]
    truncated = start + max_items < len(keys)
    shapes = [access_key_shape(k, name or call.account, secret=False) for k in shown]
    last = shown[-1].access_key if shown else None
    return [("AccessKeyMetadata", members(shapes)), *page_tail(truncated, last)]


async def update_access_key(call: Call) -> Result:
    name = _named_user(call, "UpdateAccessKey")
    key_id, active = call.params.access_key_id(), call.params.status()
    await call.meta.update_access_key_status(call.account, name, key_id, active=active)
    return None


async def delete_access_key(call: Call) -> Result:
    name = _named_user(call, "DeleteAccessKey")
    await call.meta.delete_user_access_key(call.account, name, call.params.access_key_id())
    return None


# -- inline policies (users and groups alike) ------------------------------------------------


def _owner(kind: PolicyOwnerKind, call: Call) -> tuple[str, str]:
    """(the owner's parameter name, its value)."""
    if kind == "role":
        return "RoleName", role_name(call)
    return ("UserName", _user(call)) if kind == "user" else ("GroupName", _group(call))


_OWNER_ARN: dict[PolicyOwnerKind, Resource] = {
    "user": _user_arn,
    "group": _group_arn,
    "role": role_arn,
}
# IAM's limit on one inline policy of each kind (roles: 10,240 characters).
_INLINE_LIMIT = {
    "user": MAX_USER_POLICY_CHARS,
    "group": MAX_GROUP_POLICY_CHARS,
    "role": MAX_ROLE_POLICY_CHARS,
}


def _inline(kind: PolicyOwnerKind) -> dict[str, Operation]:
    limit = _INLINE_LIMIT[kind]
    noun = kind.capitalize()
    resource = _OWNER_ARN[kind]

    def policy_name(call: Call) -> str:
        name = call.params.name("PolicyName")
        assert name is not None
        return name

    async def put(call: Call) -> Result:
        _, owner = _owner(kind, call)
        name, document = policy_name(call), _document(call, limit)
        await call.meta.put_inline_policy(call.account, kind, owner, name, document)
        return None

    async def get(call: Call) -> Result:
        param, owner = _owner(kind, call)
        name = policy_name(call)
        document = await call.meta.get_inline_policy(call.account, kind, owner, name)
        return [(param, owner), ("PolicyName", name), ("PolicyDocument", encode_document(document))]

    async def list_(call: Call) -> Result:
        _, owner = _owner(kind, call)
        page = await call.meta.list_inline_policies(
            call.account,
            kind,
            owner,
            marker=call.params.marker(),
            max_items=call.params.max_items(),
        )
        names: list[Element] = [("member", n) for n in page.items]
        return [("PolicyNames", names), *page_tail(page.is_truncated, page.marker)]

    async def delete(call: Call) -> Result:
        _, owner = _owner(kind, call)
        await call.meta.delete_inline_policy(call.account, kind, owner, policy_name(call))
        return None

    return {
        f"Put{noun}Policy": Operation(put, resource),
        f"Get{noun}Policy": Operation(get, resource),
        f"List{noun}Policies": Operation(list_, resource),
        f"Delete{noun}Policy": Operation(delete, resource),
    }


# -- groups ----------------------------------------------------------------------------------


async def create_group(call: Call) -> Result:
    group = await call.meta.create_iam_group(
        call.account,
        _group(call),
        path=call.params.path(),
        group_id=new_iam_id("AGPA"),
        now=call.now,
    )
    return [("Group", group_shape(group, call.account_id))]


async def get_group(call: Call) -> Result:
    name = _group(call)
    group = await call.meta.get_iam_group(call.account, name)
    if group is None:
        raise no_such_entity("group", name)
    page = await call.meta.list_group_members(
        call.account, name, marker=call.params.marker(), max_items=call.params.max_items()
    )
    users = members([user_shape(u, call.account_id) for u in page.items])
    return [
        ("Group", group_shape(group, call.account_id)),
        ("Users", users),
        *page_tail(page.is_truncated, page.marker),
    ]


async def list_groups(call: Call) -> Result:
    return await list_entities(call, call.meta.list_iam_groups, group_shape, "Groups")


async def delete_group(call: Call) -> Result:
    await call.meta.delete_iam_group(call.account, _group(call))
    return None


async def add_user_to_group(call: Call) -> Result:
    await call.meta.add_user_to_group(call.account, _group(call), _user(call))
    return None


async def remove_user_from_group(call: Call) -> Result:
    await call.meta.remove_user_from_group(call.account, _group(call), _user(call))
    return None


async def list_groups_for_user(call: Call) -> Result:
    page = await call.meta.list_groups_for_user(
        call.account, _user(call), marker=call.params.marker(), max_items=call.params.max_items()
    )
    groups = members([group_shape(g, call.account_id) for g in page.items])
    return [("Groups", groups), *page_tail(page.is_truncated, page.marker)]


# -- managed policies ------------------------------------------------------------------------


def _policy_name(call: Call) -> str:
    return parse_policy_arn(call.params.required("PolicyArn"), call.account_id)


async def create_policy(call: Call) -> Result:
    name = call.params.name("PolicyName")
    assert name is not None
    description = call.params.get("Description")
    if description is not None and len(description) > 1000:
        raise IamError(IamErrorCode.VALIDATION_ERROR, "Description is longer than 1000")
    policy = await call.meta.create_iam_policy(
        call.account,
        name,
        path=call.params.path(),
        policy_id=new_iam_id("ANPA"),
        document=_document(call, MAX_MANAGED_POLICY_CHARS),
        description=description,
        now=call.now,
    )
    return [("Policy", policy_shape(policy, call.account_id))]


async def _existing_policy(call: Call) -> tuple[str, Result]:
    name = _policy_name(call)
    policy = await call.meta.get_iam_policy(call.account, name)
    if policy is None:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY,
            f"Policy {call.params.get('PolicyArn')} does not exist or is not attachable.",
        )
    return policy.document, [("Policy", policy_shape(policy, call.account_id))]


async def get_policy(call: Call) -> Result:
    return (await _existing_policy(call))[1]


async def get_policy_version(call: Call) -> Result:
    """The one version (v1) a managed policy has here."""
    version = call.params.required("VersionId")
    document, _ = await _existing_policy(call)
    if version != "v1":
        raise IamError(IamErrorCode.NO_SUCH_ENTITY, f"Policy version {version} does not exist.")
    return [
        (
            "PolicyVersion",
            [
                ("Document", encode_document(document)),
                ("VersionId", "v1"),
                ("IsDefaultVersion", "true"),
            ],
        )
    ]


async def list_policies(call: Call) -> Result:
    scope = call.params.get("Scope") or "All"
    if scope not in ("All", "AWS", "Local"):
        raise IamError(IamErrorCode.VALIDATION_ERROR, f"Invalid Scope {scope}")
    if scope == "AWS":  # no AWS managed policies exist here
        return [("Policies", []), *page_tail(False, None)]
    page = await call.meta.list_iam_policies(
        call.account,
        path_prefix=call.params.path_prefix(),
        only_attached=call.params.flag("OnlyAttached"),
        marker=call.params.marker(),
        max_items=call.params.max_items(),
    )
    policies = members([policy_shape(p, call.account_id) for p in page.items])
    return [("Policies", policies), *page_tail(page.is_truncated, page.marker)]


async def delete_policy(call: Call) -> Result:
    await call.meta.delete_iam_policy(call.account, _policy_name(call))
    return None


def _attachments(kind: PolicyOwnerKind) -> dict[str, Operation]:
    noun = kind.capitalize()
    resource = _OWNER_ARN[kind]

    async def attach(call: Call) -> Result:
        _, owner = _owner(kind, call)
        await call.meta.attach_policy(call.account, kind, owner, _policy_name(call))
        return None

    async def detach(call: Call) -> Result:
        _, owner = _owner(kind, call)
        await call.meta.detach_policy(call.account, kind, owner, _policy_name(call))
        return None

    async def list_(call: Call) -> Result:
        _, owner = _owner(kind, call)
        page = await call.meta.list_attached_policies(
            call.account,
            kind,
            owner,
            path_prefix=call.params.path_prefix(),
            marker=call.params.marker(),
            max_items=call.params.max_items(),
        )
        attached = members([attached_shape(p, call.account_id) for p in page.items])
        return [("AttachedPolicies", attached), *page_tail(page.is_truncated, page.marker)]

    return {
        f"Attach{noun}Policy": Operation(attach, resource),
        f"Detach{noun}Policy": Operation(detach, resource),
        f"ListAttached{noun}Policies": Operation(list_, resource),
    }


IAM_API = Api(
    service="iam",
    version="2010-05-08",
    namespace=IAM_NAMESPACE,
    operations={
        "CreateUser": Operation(create_user, _user_arn),
        "GetUser": Operation(get_user, _user_arn),
        "ListUsers": Operation(list_users, _listing("user")),
        "DeleteUser": Operation(delete_user, _user_arn),
        "CreateAccessKey": Operation(create_access_key, _user_arn),
        "ListAccessKeys": Operation(list_access_keys, _user_arn),
        "UpdateAccessKey": Operation(update_access_key, _user_arn),
        "DeleteAccessKey": Operation(delete_access_key, _user_arn),
        **_inline("user"),
        "CreateGroup": Operation(create_group, _group_arn),
        "GetGroup": Operation(get_group, _group_arn),
        "ListGroups": Operation(list_groups, _listing("group")),
        "DeleteGroup": Operation(delete_group, _group_arn),
        "AddUserToGroup": Operation(add_user_to_group, _group_arn),
        "RemoveUserFromGroup": Operation(remove_user_from_group, _group_arn),
        "ListGroupsForUser": Operation(list_groups_for_user, _user_arn),
        **_inline("group"),
        "CreatePolicy": Operation(create_policy, _policy_arn),
        "GetPolicy": Operation(get_policy, _policy_arn),
        "GetPolicyVersion": Operation(get_policy_version, _policy_arn),
        "ListPolicies": Operation(list_policies, _listing("policy")),
        "DeletePolicy": Operation(delete_policy, _policy_arn),
        **_attachments("user"),
        **_attachments("group"),
        **ROLE_OPERATIONS,
        "ListRoles": Operation(list_roles, _listing("role")),
        **_inline("role"),
        **_attachments("role"),
        **OIDC_OPERATIONS,
        "ListOpenIDConnectProviders": Operation(list_oidc_providers, _listing("oidc-provider")),
    },
)
