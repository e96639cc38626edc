"""The operator's replication targets as S3 clients: which target serves a destination
bucket, and one aiobotocore client per target.

A rule's destination `arn:aws:s3:::BUCKET` names BUCKET on the target that serves it
(`kloudvault admin replication target add NAME ... --bucket BUCKET`); the table is read
again every REFRESH seconds, so a target added, changed or removed with the admin command
reaches every replica's worker without a restart. A target's secret is stored sealed
(auth/sealed.py, with "replication-target:NAME" as associated data) and opened here.

A client sends the x-kloudvault-replica header (gateway/s3/replication.py) on the calls
given `ReplicaOf=(version id, last modified)`: a botocore hook takes that parameter out
before validation and adds the header before signing, so it is signed like the rest.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.loaders import create_loader

from auth.sealed import SecretSealer
from gateway.meta.outbox import EventOutbox
from gateway.meta.replication import ReplicationTarget
from gateway.s3.replication import REPLICA_HEADER, replica_header

REFRESH = 5.0  # seconds between reads of the targets table
REPLICA_PARAM = "ReplicaOf"
_DATA_LOADER = create_loader()


def sealed_as(name: str) -> str:
    """The associated data a target's sealed secret is bound to."""
    return f"replication-target:{name}"


def _take_replica(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    replica = params.pop(REPLICA_PARAM, None)
    if replica is not None:
        context["kloudvault_replica"] = replica_header(*replica)


def _add_replica_header(request: Any, **_: Any) -> None:
    value = request.context.get("kloudvault_replica")
    if value is not None:
        request.headers[REPLICA_HEADER] = value


class TargetClients:
    """Destination bucket -> (its target, a client on it), from the targets table."""

    def __init__(
        self,
        outbox: EventOutbox,
        sealer: SecretSealer,
        *,
        refresh: float = REFRESH,
        monotonic: Callable[[], float] = time.monotonic,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
    ) -> None:
        self.outbox = outbox
        self.sealer = sealer
        self.refresh = refresh
        self.monotonic = monotonic
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._read_at = -refresh
        self._by_bucket: dict[str, ReplicationTarget] = {}
        self._clients: dict[str, tuple[ReplicationTarget, Any, contextlib.AsyncExitStack]] = {}

    async def target_of(self, bucket: str) -> ReplicationTarget | None:
        now = self.monotonic()
        if now - self._read_at >= self.refresh:
            targets = await self.outbox.list_replication_targets()
            self._by_bucket = {b: t for t in targets for b in t.buckets}
            self._read_at = now
        return self._by_bucket.get(bucket)

    def stale(self) -> None:
        """A copy failed: read the table again at the next lookup (the operator may have
        just pointed the bucket at a target that works)."""
        self._read_at = self.monotonic() - self.refresh

    async def client(self, target: ReplicationTarget) -> Any:
        """The client of `target` (a new one when its record changed)."""
        held = self._clients.get(target.name)
        if held is not None and held[0] == target:
            return held[1]
        if held is not None:
            await held[2].aclose()
        secret = self.sealer.open(sealed_as(target.name), target.secret)
        session = get_session()
        session.register_component("data_loader", _DATA_LOADER)
        stack = contextlib.AsyncExitStack()
        config = AioConfig(
            region_name=target.region,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            # The worker retries with its own backoff; a call fails fast instead.
            retries={"mode": "standard", "max_attempts": 1},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = await stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=target.endpoint,
                region_name=target.region,
                aws_access_key_id=target.access_key,
                aws_secret_access_key=secret,
                config=config,
            )
        )
        client.meta.events.register("before-parameter-build.s3", _take_replica)
        client.meta.events.register("before-sign.s3", _add_replica_header)
        self._clients[target.name] = (target, client, stack)
        return client

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for _, _, stack in clients.values():
            await stack.aclose()
