"""The STS operations served: GetCallerIdentity, AssumeRole, GetSessionToken and
AssumeRoleWithWebIdentity (auth/sts/webidentity.py).

https://docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html. GetCallerIdentity
answers Account, Arn (the IAM user's, the role session's
arn:aws:sts::<id>:assumed-role/<role>/<session>, or the account's root ARN) and UserId
(the user's id, `<role id>:<session>`, or the account id). AssumeRole's permission is the
role's trust policy with the caller's own side (auth/sts/trust.py), so it needs no
iam:<Action> check: its Operation has no resource.
"""

from __future__ import annotations

from auth.iam.api import Api, Call, Operation, Result
from auth.iam.authorize import identity_policies, session_policies
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.render import STS_NAMESPACE
from auth.policy.model import MalformedPolicy, PolicyKind, parse_policy
from auth.sts.session import (
    DEFAULT_ROLE_DURATION,
    account_named_by,
    duration,
    mint,
    role_ref,
    session_name,
    session_policy,
)
from auth.sts.trust import may_assume
from auth.sts.webidentity import assume_role_with_web_identity

# GetSessionToken's bounds: IAM users up to 36 hours; an account's own credentials 1 hour.
SESSION_TOKEN_DEFAULT = 43200
SESSION_TOKEN_MAX = 129600
ROOT_SESSION_TOKEN_MAX = 3600
CHAINED_ROLE_MAX = 3600


async def get_caller_identity(call: Call) -> Result:
    requester = call.caller.requester()
    identity = call.caller.identity
    if identity is None:
        user_id = call.account_id
    elif identity.is_role:
        user_id = f"{identity.user_id}:{identity.session_name}"
    else:
        user_id = identity.user_id
    return [("Arn", requester.arn), ("UserId", user_id), ("Account", call.account_id)]


def _denied(who: str | None, action: str, resource: str) -> IamError:
    return IamError(
        IamErrorCode.ACCESS_DENIED,
        f"User: {who} is not authorized to perform: {action} on resource: {resource}",
    )


async def assume_role(call: Call) -> Result:
    ref = role_ref(call.params)
    name = session_name(call.params)
    policy = session_policy(call.params)
    requester = call.caller.requester()
    role_arn = f"arn:aws:iam::{ref.account_id}:role{ref.path}{ref.name}"
    account = await account_named_by(call.meta, ref.account_id)
    role = None if account is None else await call.meta.get_iam_role(account, ref.name)
    if account is None or role is None or role.path != ref.path:
        raise _denied(requester.arn, "sts:AssumeRole", role_arn)
    try:
        trust = parse_policy(role.trust_policy, PolicyKind.TRUST, max_chars=1 << 30)
    except MalformedPolicy:
        raise _denied(requester.arn, "sts:AssumeRole", role_arn) from None
    identity = call.caller.identity
    keys: dict[str, tuple[str, ...]] = {"sts:rolesessionname": (name,)}
    if (external := call.params.get("ExternalId")) is not None:
        keys["sts:externalid"] = (external,)
    allowed, _ = may_assume(
        requester,
        trust,
        role_arn,
        ref.account_id,
        identity=identity_policies(identity) if identity is not None else (),
        session=session_policies(identity),
        keys=keys,
    )
    if not allowed:
        raise _denied(requester.arn, "sts:AssumeRole", role_arn)
    seconds = duration(
        call.params,
        default=DEFAULT_ROLE_DURATION,
        maximum=role.max_session_duration,
        role_bound=True,
    )
    if requester.role_name is not None and seconds > CHAINED_ROLE_MAX:
        # Role chaining (a role session assuming a role) is capped at one hour, whatever
        # the role's MaxSessionDuration.
        raise IamError(
            IamErrorCode.VALIDATION_ERROR,
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining.",
        )
    credentials = await mint(
        call.meta,
        sealer=call.sealer,
        account=account,
        role=role.name,
        iam_user=None,
        name=name,
        policy=policy,
        source=requester.arn or "",
        now=call.now,
        seconds=seconds,
    )
    return [
        ("Credentials", credentials),
        (
            "AssumedRoleUser",
            [
                ("AssumedRoleId", f"{role.role_id}:{name}"),
                ("Arn", f"arn:aws:sts::{ref.account_id}:assumed-role/{role.name}/{name}"),
            ],
        ),
    ]


async def get_session_token(call: Call) -> Result:
    caller = call.caller
    if caller.temporary:
        raise IamError(
            IamErrorCode.ACCESS_DENIED, "Cannot call GetSessionToken with session credentials"
        )
    maximum = ROOT_SESSION_TOKEN_MAX if caller.identity is None else SESSION_TOKEN_MAX
    seconds = duration(
        call.params, default=SESSION_TOKEN_DEFAULT, maximum=maximum, role_bound=False
    )
    credentials = await mint(
        call.meta,
        sealer=call.sealer,
        account=caller.account,
        role=None,
        iam_user=caller.user_name,
        name=None,
        policy=None,
        source=caller.requester().arn or "",
        now=call.now,
        seconds=seconds,
    )
    return [("Credentials", credentials)]


STS_API = Api(
    service="sts",
    version="2011-06-15",
    namespace=STS_NAMESPACE,
    operations={
        "GetCallerIdentity": Operation(get_caller_identity, resource=None),
        "AssumeRole": Operation(assume_role, resource=None),
        "GetSessionToken": Operation(get_session_token, resource=None),
        "AssumeRoleWithWebIdentity": Operation(assume_role_with_web_identity, resource=None),
    },
)
