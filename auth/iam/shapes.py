"""ARNs and the response shapes of IAM's entities (User, Group, Policy, AccessKey). Pure.

ARNs: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
(arn:aws:iam::<account id>:user<path><name>, :group..., :policy...). Policy documents are
returned URL-encoded (RFC 3986), as IAM returns them (GetUserPolicy's PolicyDocument).
"""

from __future__ import annotations

import time
from urllib.parse import quote

from auth.iam.errors import IamError, IamErrorCode
from auth.iam.render import Element
from gateway.meta.base import AccessKey, IamGroup, IamPolicy, IamUser


def iso(epoch: float) -> str:
    """IAM's dateTime: ISO 8601 in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def arn(account_id: str, kind: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:{kind}{path}{name}"


def root_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def parse_policy_arn(value: str, account_id: str) -> str:
    """The name of the managed policy `value` names in the caller's account.

    AWS managed policies (arn:aws:iam::aws:policy/...) and other accounts' policies do not
    exist here: NoSuchEntity, as IAM answers for a policy that is not there.
    """
    prefix, sep, rest = value.partition(":policy/")
    parts = prefix.split(":")
    if not sep or len(parts) != 5 or parts[:3] != ["arn", "aws", "iam"] or parts[3]:
        raise IamError(IamErrorCode.INVALID_INPUT, f"ARN {value} is not valid.")
    name = rest.rpartition("/")[2]
    if parts[4] != account_id or not name:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY, f"Policy {value} does not exist or is not attachable."
        )
    return name


def encode_document(document: str) -> str:
    return quote(document, safe="-_.~")


def user_shape(user: IamUser, account_id: str) -> list[Element]:
    return [
        ("Path", user.path),
        ("UserName", user.name),
        ("UserId", user.user_id),
        ("Arn", arn(account_id, "user", user.path, user.name)),
        ("CreateDate", iso(user.created)),
    ]


def group_shape(group: IamGroup, account_id: str) -> list[Element]:
    return [
        ("Path", group.path),
        ("GroupName", group.name),
        ("GroupId", group.group_id),
        ("Arn", arn(account_id, "group", group.path, group.name)),
        ("CreateDate", iso(group.created)),
    ]


def policy_shape(policy: IamPolicy, account_id: str) -> list[Element]:
    return [
        ("PolicyName", policy.name),
        ("PolicyId", policy.policy_id),
        ("Arn", arn(account_id, "policy", policy.path, policy.name)),
        ("Path", policy.path),
        ("DefaultVersionId", "v1"),
        ("AttachmentCount", str(policy.attachment_count)),
        ("PermissionsBoundaryUsageCount", "0"),
        ("IsAttachable", "true"),
        ("Description", policy.description),
        ("CreateDate", iso(policy.created)),
        ("UpdateDate", iso(policy.updated)),
    ]


def attached_shape(policy: IamPolicy, account_id: str) -> list[Element]:
    return [
        ("PolicyName", policy.name),
        ("PolicyArn", arn(account_id, "policy", policy.path, policy.name)),
    ]


def access_key_shape(key: AccessKey, user_name: str, *, secret: bool) -> list[Element]:
    """AccessKey (CreateAccessKey: with the secret) or AccessKeyMetadata (ListAccessKeys)."""
    return [
        ("UserName", user_name),
        ("AccessKeyId", key.access_key),
        ("Status", "Active" if key.active else "Inactive"),
        ("SecretAccessKey", key.secret_key if secret else None),
        ("CreateDate", iso(key.created)),
    ]


def members(shapes: list[list[Element]]) -> list[Element]:
    return [("member", shape) for shape in shapes]


def page_tail(is_truncated: bool, marker: str | None) -> list[Element]:
    """IsTruncated, and Marker when there is a next page."""
    return [
        ("IsTruncated", "true" if is_truncated else "false"),
        ("Marker", marker if is_truncated else None),
    ]
