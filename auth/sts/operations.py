"""The STS operations served: GetCallerIdentity, which any authenticated caller may call.

https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: Account
(12-digit id), Arn (the IAM user's ARN, or the account's root ARN) and UserId (the user's
unique id, or the account id for the account's own credentials).
"""

from __future__ import annotations

from auth.iam.api import Api, Call, Operation, Result
from auth.iam.render import STS_NAMESPACE
from auth.iam.shapes import arn, root_arn


async def get_caller_identity(call: Call) -> Result:
    identity = call.caller.identity
    if identity is None:
        who, user_id = root_arn(call.account_id), call.account_id
    else:
        who = arn(call.account_id, "user", identity.path, identity.name)
        user_id = identity.user_id
    return [("Arn", who), ("UserId", user_id), ("Account", call.account_id)]


STS_API = Api(
    service="sts",
    version="2011-06-15",
    namespace=STS_NAMESPACE,
    operations={"GetCallerIdentity": Operation(get_caller_identity, resource=None)},
)
