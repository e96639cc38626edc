"""`kloudvault admin iam ...`: an account's IAM users, keys, groups, policies, roles and
OpenID Connect providers (and revoking a role's STS sessions).

The same MetaStore methods (gateway/meta/iam.py) and the same checks (names, paths,
policy documents) as the IAM API (auth/iam/operations.py), for an operator at the shell:
`kloudvault admin iam create-user --account alice bob`. `--account` defaults to root.
A refusal prints IAM's error code and message and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from auth.credentials import ROOT_USER, account_id, create_user_access_key, new_iam_id
from auth.iam.errors import IamError, IamErrorCode, no_such_entity
from auth.iam.form import Params, check_policy_document
from auth.iam.oidc_providers import check_url, provider_arn, provider_key
from auth.iam.roles import MAX_SESSION_SECONDS, MIN_SESSION_SECONDS, check_trust_policy
from auth.iam.shapes import arn
from auth.policy.model import (
    MAX_GROUP_POLICY_CHARS,
    MAX_MANAGED_POLICY_CHARS,
    MAX_ROLE_POLICY_CHARS,
    MAX_USER_POLICY_CHARS,
)
from auth.sealed import SecretSealer
from gateway.meta.base import IamPage, IamRole, MetaStore, OidcProvider, PolicyOwnerKind

# Every command gets the sealer of access-key secrets (auth/sealed.py); create-access-key uses it.
Run = Callable[[MetaStore, argparse.Namespace, SecretSealer], Awaitable[None]]
# (argument name, add_argument keywords)
Arg = tuple[str, dict[str, Any]]

T = TypeVar("T")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    args: list[Arg]
    run: Run


def _checked(args: argparse.Namespace) -> Params:
    """The command's names as the IAM API would validate them."""
    values = {
        "UserName": getattr(args, "user", None),
        "GroupName": getattr(args, "group", None),
        "PolicyName": getattr(args, "policy", None),
        "RoleName": getattr(args, "role", None),
        "Path": getattr(args, "path", None),
    }
    params = Params({k: v for k, v in values.items() if v is not None})
    params.user_name(required=False)
    params.name("RoleName", max_len=64, required=False)
    params.name("GroupName", required=False)
    params.name("PolicyName", required=False)
    params.path()
    return params


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IamError(IamErrorCode.INVALID_INPUT, f"cannot read {path}: {exc}") from exc


def _document(args: argparse.Namespace, max_chars: int) -> str:
    return check_policy_document(_read(args.document), max_chars)


async def create_user(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    _checked(args)
    user = await meta.create_iam_user(
        args.account, args.user, path=args.path or "/", user_id=new_iam_id("AIDA"), now=time.time()
    )
    print(f"user:  {user.name}")
    print(f"id:    {user.user_id}")
    print(f"arn:   {arn(account_id(args.account), 'user', user.path, user.name)}")


async def _every(list_page: Callable[[str], Awaitable[IamPage[T]]]) -> AsyncIterator[T]:
    """Every item of a paged IAM listing (`list_page(marker)`), page after page."""
    marker = ""
    while True:
        page = await list_page(marker)
        for item in page.items:
            yield item
        if not page.is_truncated or page.marker is None:
            return
        marker = page.marker


async def list_users(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    users = _every(lambda marker: meta.list_iam_users(args.account, marker=marker, max_items=1000))
    async for user in users:
        print(f"{user.path}{user.name}\t{user.user_id}")


async def delete_user(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    await meta.delete_iam_user(args.account, args.user)
    print(f"deleted IAM user {args.user}")


async def create_access_key(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    key = await create_user_access_key(meta, sealer, args.account, args.user, now=time.time())
    print(f"access key: {key.access_key}")
    print(f"secret key: {key.secret_key}   (shown once)")


async def list_access_keys(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    for key in await meta.list_user_access_keys(args.account, args.user):
        print(f"{key.access_key}\t{'Active' if key.active else 'Inactive'}")


async def update_access_key(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    active = args.status == "Active"
    await meta.update_access_key_status(args.account, args.user, args.access_key, active=active)
    print(f"{args.access_key} is {args.status}")


async def delete_access_key(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    await meta.delete_user_access_key(args.account, args.user, args.access_key)
    print(f"deleted key {args.access_key}")


_INLINE_LIMIT = {
    "user": MAX_USER_POLICY_CHARS,
    "group": MAX_GROUP_POLICY_CHARS,
    "role": MAX_ROLE_POLICY_CHARS,
}


def _inline(kind: PolicyOwnerKind) -> list[Command]:
    limit = _INLINE_LIMIT[kind]

    async def put(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        _checked(args)
        owner, document = getattr(args, kind), _document(args, limit)
        await meta.put_inline_policy(args.account, kind, owner, args.policy, document)
        print(f"put policy {args.policy} of {kind} {owner}")

    async def get(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        owner = getattr(args, kind)
        print(await meta.get_inline_policy(args.account, kind, owner, args.policy))

    async def list_(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        owner = getattr(args, kind)
        page = await meta.list_inline_policies(args.account, kind, owner, max_items=1000)
        for name in page.items:
            print(name)

    async def delete(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        owner = getattr(args, kind)
        await meta.delete_inline_policy(args.account, kind, owner, args.policy)
        print(f"deleted policy {args.policy} of {kind} {owner}")

    named: list[Arg] = [(kind, {}), ("policy", {})]
    return [
        Command(
            f"put-{kind}-policy",
            f"create or replace an inline policy of a {kind}",
            [*named, DOCUMENT],
            put,
        ),
        Command(f"get-{kind}-policy", f"print an inline policy of a {kind}", named, get),
        Command(f"list-{kind}-policies", f"a {kind}'s inline policies", [(kind, {})], list_),
        Command(f"delete-{kind}-policy", f"delete an inline policy of a {kind}", named, delete),
    ]


async def create_group(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    _checked(args)
    group = await meta.create_iam_group(
        args.account,
        args.group,
        path=args.path or "/",
        group_id=new_iam_id("AGPA"),
        now=time.time(),
    )
    print(f"group: {group.name}")
    print(f"arn:   {arn(account_id(args.account), 'group', group.path, group.name)}")


async def list_groups(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    page = await meta.list_iam_groups(args.account, max_items=1000)
    for group in page.items:
        members = await meta.list_group_members(args.account, group.name, max_items=1000)
        print(f"{group.path}{group.name}\t{' '.join(u.name for u in members.items)}")


async def delete_group(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    await meta.delete_iam_group(args.account, args.group)
    print(f"deleted group {args.group}")


async def add_user_to_group(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    await meta.add_user_to_group(args.account, args.group, args.user)
    print(f"{args.user} is in group {args.group}")


async def remove_user_from_group(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    await meta.remove_user_from_group(args.account, args.group, args.user)
    print(f"{args.user} left group {args.group}")


async def create_policy(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    _checked(args)
    policy = await meta.create_iam_policy(
        args.account,
        args.policy,
        path=args.path or "/",
        policy_id=new_iam_id("ANPA"),
        document=_document(args, MAX_MANAGED_POLICY_CHARS),
        description=args.description,
        now=time.time(),
    )
    print(f"policy: {policy.name}")
    print(f"arn:    {arn(account_id(args.account), 'policy', policy.path, policy.name)}")


async def list_policies(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    page = await meta.list_iam_policies(args.account, max_items=1000)
    for policy in page.items:
        print(f"{policy.path}{policy.name}\t{policy.attachment_count} attachment(s)")


async def delete_policy(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    await meta.delete_iam_policy(args.account, args.policy)
    print(f"deleted policy {args.policy}")


def _attachments(kind: PolicyOwnerKind) -> list[Command]:
    async def attach(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        await meta.attach_policy(args.account, kind, getattr(args, kind), args.policy)
        print(f"attached {args.policy} to {kind} {getattr(args, kind)}")

    async def detach(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        await meta.detach_policy(args.account, kind, getattr(args, kind), args.policy)
        print(f"detached {args.policy} from {kind} {getattr(args, kind)}")

    async def list_(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
        page = await meta.list_attached_policies(
            args.account, kind, getattr(args, kind), max_items=1000
        )
        for policy in page.items:
            print(f"{policy.path}{policy.name}")

    named: list[Arg] = [(kind, {}), ("policy", {"help": "managed policy name"})]
    return [
        Command(f"attach-{kind}-policy", f"attach a managed policy to a {kind}", named, attach),
        Command(f"detach-{kind}-policy", f"detach a managed policy from a {kind}", named, detach),
        Command(
            f"list-attached-{kind}-policies", f"a {kind}'s managed policies", [(kind, {})], list_
        ),
    ]


PATH: Arg = ("--path", {"default": None, "help": "IAM path, e.g. /team/ (default /)"})
DOCUMENT: Arg = ("--document", {"required": True, "help": "file holding the JSON policy"})
USER_KEY: list[Arg] = [("user", {}), ("access_key", {})]

# -- roles, OpenID Connect providers, STS sessions -------------------------------------------


async def create_role(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    _checked(args)
    seconds = args.max_session_duration
    if not MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS:
        raise IamError(
            IamErrorCode.VALIDATION_ERROR,
            f"--max-session-duration must be {MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS}",
        )
    role = await meta.create_iam_role(
        IamRole(
            args.account,
            args.role,
            new_iam_id("AROA"),
            args.path or "/",
            check_trust_policy(_read(args.trust)),
            seconds,
            time.time(),
            args.description,
        )
    )
    print(f"role:  {role.name}")
    print(f"id:    {role.role_id}")
    print(f"arn:   {arn(account_id(args.account), 'role', role.path, role.name)}")


async def get_role(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    role = await meta.get_iam_role(args.account, args.role)
    if role is None:
        raise no_such_entity("role", args.role)
    print(f"arn:   {arn(account_id(args.account), 'role', role.path, role.name)}")
    print(f"id:    {role.role_id}")
    print(f"max session duration: {role.max_session_duration}s")
    print(role.trust_policy)


async def list_roles(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    roles = _every(lambda marker: meta.list_iam_roles(args.account, marker=marker, max_items=1000))
    async for role in roles:
        print(f"{role.path}{role.name}\t{role.role_id}")


async def delete_role(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> None:
    await meta.delete_iam_role(args.account, args.role)
    print(f"deleted role {args.role}")


async def update_assume_role_policy(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    document = check_trust_policy(_read(args.trust))
    await meta.update_iam_role(args.account, args.role, trust_policy=document)
    print(f"updated the trust policy of role {args.role}")


async def revoke_role_sessions(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    if await meta.get_iam_role(args.account, args.role) is None:
        raise no_such_entity("role", args.role)
    count = await meta.revoke_sts_sessions(args.account, role=args.role, now=time.time())
    print(f"revoked {count} session(s) of role {args.role}")


async def create_oidc_provider(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    key = check_url(args.url)
    await meta.create_oidc_provider(
        OidcProvider(
            args.account, key, tuple(args.client_id), tuple(args.thumbprint or ()), time.time()
        )
    )
    print(f"arn:   {provider_arn(account_id(args.account), key)}")


async def list_oidc_providers(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    for provider in await meta.list_oidc_providers(args.account):
        print(f"{provider_arn(account_id(args.account), provider.url)}\t"
              f"{' '.join(provider.client_ids)}")  # fmt: skip


async def delete_oidc_provider(
    meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer
) -> None:
    await meta.delete_oidc_provider(args.account, provider_key(args.url.rstrip("/")))
    print(f"deleted OpenID Connect provider {args.url}")


TRUST: Arg = ("--trust", {"required": True, "help": "file holding the JSON trust policy"})
ROLE_COMMANDS: list[Command] = [
    Command(
        "create-role",
        "a role and who may assume it",
        [
            ("role", {}),
            TRUST,
            ("--path", {"default": None, "help": "IAM path (default /)"}),
            ("--max-session-duration", {"type": int, "default": MIN_SESSION_SECONDS}),
            ("--description", {"default": None}),
        ],
        create_role,
    ),
    Command("get-role", "a role and its trust policy", [("role", {})], get_role),
    Command("list-roles", "the account's roles", [], list_roles),
    Command(
        "delete-role", "a role without policies (its sessions end)", [("role", {})], delete_role
    ),
    Command(
        "update-assume-role-policy",
        "replace a role's trust policy",
        [("role", {}), TRUST],
        update_assume_role_policy,
    ),
    Command(
        "revoke-role-sessions",
        "end every STS session of a role now",
        [("role", {})],
        revoke_role_sessions,
    ),
    *_inline("role"),
    *_attachments("role"),
    Command(
        "create-oidc-provider",
        "register an OpenID Connect provider (its issuer URL)",
        [
            ("url", {}),
            ("--client-id", {"action": "append", "required": True, "help": "accepted aud"}),
            ("--thumbprint", {"action": "append", "default": None}),
        ],
        create_oidc_provider,
    ),
    Command(
        "list-oidc-providers", "the account's OpenID Connect providers", [], list_oidc_providers
    ),
    Command(
        "delete-oidc-provider",
        "unregister an OpenID Connect provider",
        [("url", {})],
        delete_oidc_provider,
    ),
]


COMMANDS: list[Command] = [
    Command("create-user", "an IAM user of the account", [("user", {}), PATH], create_user),
    Command("list-users", "the account's IAM users", [], list_users),
    Command(
        "delete-user", "an IAM user without keys, policies or groups", [("user", {})], delete_user
    ),
    Command(
        "create-access-key", "a key for an IAM user (at most 2)", [("user", {})], create_access_key
    ),
    Command(
        "list-access-keys", "an IAM user's keys and their status", [("user", {})], list_access_keys
    ),
    Command(
        "update-access-key",
        "activate or deactivate an IAM user's key",
        [*USER_KEY, ("--status", {"required": True, "choices": ["Active", "Inactive"]})],
        update_access_key,
    ),
    Command("delete-access-key", "delete an IAM user's key", USER_KEY, delete_access_key),
    *_inline("user"),
    Command("create-group", "a group of IAM users", [("group", {}), PATH], create_group),
    Command("list-groups", "the account's groups and their members", [], list_groups),
    Command("delete-group", "a group without members or policies", [("group", {})], delete_group),
    Command(
        "add-user-to-group",
        "add an IAM user to a group",
        [("group", {}), ("user", {})],
        add_user_to_group,
    ),
    Command(
        "remove-user-from-group",
        "remove an IAM user from a group",
        [("group", {}), ("user", {})],
        remove_user_from_group,
    ),
    *_inline("group"),
    Command(
        "create-policy",
        "a managed policy",
        [("policy", {}), DOCUMENT, PATH, ("--description", {"default": None})],
        create_policy,
    ),
    Command("list-policies", "the account's managed policies", [], list_policies),
    Command(
        "delete-policy", "a managed policy attached to nothing", [("policy", {})], delete_policy
    ),
    *_attachments("user"),
    *_attachments("group"),
    *ROLE_COMMANDS,
]
_BY_NAME = {command.name: command for command in COMMANDS}


def add_iam_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Every command, through `add(name, help)` (cli.py's leaf-command factory)."""
    for command in COMMANDS:
        parser = add(command.name, command.help)
        parser.add_argument("--account", default=ROOT_USER, help="the account (default: root)")
        for name, options in command.args:
            parser.add_argument(name, **options)


async def run_iam(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> int:
    try:
        await _BY_NAME[args.iam_command].run(meta, args, sealer)
    except IamError as err:
        print(f"{err.code.code}: {err.message}", file=sys.stderr)
        return 1
    return 0
