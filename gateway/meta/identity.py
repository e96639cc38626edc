"""What an IAM user's requests are judged by: its id and every policy that applies to it.

Read once per request (or per credential-cache period) by dispatch: the user's inline
policies, the managed policies attached to it, and its groups' inline and attached
policies, each named after where it came from (the audit log and the engine's Match
say which one decided).
"""

from __future__ import annotations

from gateway.meta.base import IamIdentity
from gateway.meta.sql import Tx, one, rows

_POLICIES = """
SELECT 'user/' || i.owner || '/inline/' || i.name AS source, i.document
  FROM iam_inline_policies i
 WHERE i.account = ? AND i.kind = 'user' AND i.owner = ?
UNION ALL
SELECT 'user/' || a.owner || '/attached/' || p.name, p.document
  FROM iam_attachments a JOIN iam_policies p ON p.account = a.account AND p.name = a.policy_name
 WHERE a.account = ? AND a.kind = 'user' AND a.owner = ?
UNION ALL
SELECT 'group/' || i.owner || '/inline/' || i.name, i.document
  FROM iam_group_members m
  JOIN iam_inline_policies i ON i.account = m.account AND i.kind = 'group'
                            AND i.owner = m.group_name
 WHERE m.account = ? AND m.user_name = ?
UNION ALL
SELECT 'group/' || a.owner || '/attached/' || p.name, p.document
  FROM iam_group_members m
  JOIN iam_attachments a ON a.account = m.account AND a.kind = 'group' AND a.owner = m.group_name
  JOIN iam_policies p ON p.account = a.account AND p.name = a.policy_name
 WHERE m.account = ? AND m.user_name = ?
"""


def get_identity(account: str, user: str) -> Tx[IamIdentity | None]:
    """The IAM user `user` of `account` with its policies, or None if it does not exist."""
    found = yield from one(
        "SELECT user_id, path FROM iam_users WHERE account = ? AND name = ?", account, user
    )
    if found is None:
        return None
    policies = yield from rows(_POLICIES, *([account, user] * 4))
    return IamIdentity(
        account,
        user,
        found["user_id"],
        found["path"],
        tuple(sorted((r["source"], r["document"]) for r in policies)),
    )
