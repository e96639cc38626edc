"""What an IAM or STS operation is: a handler over a Call, and the ARN it acts on.

Each API (auth/iam/operations.py, auth/sts/operations.py) is a table Action -> Operation;
auth/iam/endpoint.py authenticates, looks the Action up, authorizes it against
`resource` and renders what `run` returns. Handlers see the metadata store, never HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth.iam.authorize import Caller
from auth.iam.form import Params
from auth.iam.render import Element
from auth.sealed import SecretSealer
from gateway.meta.base import MetaStore

if TYPE_CHECKING:
    from gateway.context import Services

# A response's Result element's children; None: the response has no Result (DeleteUser).
Result = Sequence[Element] | None


@dataclass(frozen=True)
class Call:
    meta: MetaStore
    caller: Caller
    params: Params
    now: float
    # The running services, for the operations that need more than the store (STS: the
    # web identity key cache); None in tests that drive a handler alone.
    services: Services | None = None

    @property
    def account(self) -> str:
        return self.caller.account

    @property
    def sealer(self) -> SecretSealer:
        """What seals the secrets this call creates (access keys, STS sessions)."""
        return self.services.credentials.sealer if self.services else SecretSealer(None)

    @property
    def account_id(self) -> str:
        return self.caller.account_id


@dataclass(frozen=True)
class Operation:
    run: Callable[[Call], Awaitable[Result]]
    # The ARN the action is authorized on (iam:<Action> on it); None: any authenticated
    # caller may call it (sts:GetCallerIdentity needs no permission).
    resource: Callable[[Call], Awaitable[str]] | None


@dataclass(frozen=True)
class Api:
    """One query API: its service name (the SigV4 scope), version and namespace."""

    service: str
    version: str
    namespace: str
    operations: Mapping[str, Operation]
