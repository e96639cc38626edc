"""Copy one queued change to its destination: what the replication worker does per row.

How this works (one outbox row of kind 'replication'; gateway/meta/events.py):

- The row names the source version (bucket, key, version id), the work (put,
  delete-marker, metadata), the rule and the destination bucket. The version is read
  again: gone means nothing to copy; the rule that decides is looked up now with the
  version's tags (covering()), as the request path could not know them all (a tag filter).
- A REPLICA is never copied on (no loops), with one exception: replica modification sync
  (the rule's ReplicaModifications Enabled) copies a metadata change made on the replica
  back, as metadata only, never the bytes; its status stays REPLICA. The change arrives
  there as a replica write, which queues nothing (gateway/ops/replication.py), so a
  change goes around once.
- put: the plaintext is streamed from the backend through the inverse codecs and cut
  into parts, so memory holds one part at most. A multipart source is sent as a multipart
  upload with the same part boundaries, so the destination computes the same ETag; a
  single-part one as one PutObject (or, past SINGLE_PUT_MAX, as parts of PART_SIZE).
  Every part carries its Content-MD5 (the destination verifies what it received), the MD5
  we computed is compared with the ETag it answers, and with the source's ETag: a
  mismatch anywhere is ReplicationError (retried), never a COMPLETED status. Content
  headers, user metadata, tags, retention and legal hold go with the object.
- To a KloudVault target (target.kloudvault) every write carries x-kloudvault-replica (the
  source's version id and time): the copy keeps the version id, is marked REPLICA there,
  and a second copy of the same version is a no-op (gateway/meta/objects.py).
- metadata: tags (PutObjectTagging), retention and legal hold of the version; delete-marker:
  DeleteObject (a KloudVault keeps the marker's id).
- The source version's x-amz-replication-status is set through MetaStore.update_version
  (so cached heads are voided) by the worker: COMPLETED once no other row of the version
  is left (every destination has it), FAILED when it gives up.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from backends.base import ByteStream
from backends.parts import PartReader
from events.records import OutboxEvent
from gateway.context import Services
from gateway.encryption import read_keys
from gateway.errors import S3Error
from gateway.meta.base import ObjectVersion
from gateway.readpath import stream_range
from gateway.replication.targets import REPLICA_PARAM, TargetClients
from gateway.s3.replication import (
    OP_DELETE_MARKER,
    OP_METADATA,
    OP_PUT,
    REPLICA,
    STATUS_HEADER,
    Rule,
    covering,
)

MiB = 1024 * 1024
SINGLE_PUT_MAX = 16 * MiB
PART_SIZE = 8 * MiB
# A source part larger than this is cut into PART_SIZE parts (the ETag then differs from
# the source's, and the MD5s are what is verified).
MAX_SAME_PART = 64 * MiB
# Content headers as stored (lower-case) -> the PutObject parameter that carries them.
_CONTENT_PARAMS = {
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "x-amz-website-redirect-location": "WebsiteRedirectLocation",
}
_LOCK_PARAMS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")
# What became of a row.
COPIED, SKIPPED = "copied", "skipped"


class ReplicationError(Exception):
    """A copy that did not happen (retried); `permanent`: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _unquote(etag: str) -> str:
    return etag.strip().strip('"')


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def put_params(version: ObjectVersion, rule: Rule) -> dict[str, Any]:
    """PutObject / CreateMultipartUpload parameters carrying the version's metadata."""
    params: dict[str, Any] = {"Metadata": dict(version.user_meta)}
    if version.content_type:
        params["ContentType"] = version.content_type
    for name, param in _CONTENT_PARAMS.items():
        if name in version.headers:
            params[param] = version.headers[name]
    if "expires" in version.headers:
        params["Expires"] = version.headers["expires"]
    if version.tags:
        params["Tagging"] = urlencode(dict(version.tags))
    storage_class = rule.destination.storage_class
    if storage_class:
        params["StorageClass"] = storage_class
    if version.retention_mode and version.retain_until:
        params["ObjectLockMode"] = version.retention_mode
        params["ObjectLockRetainUntilDate"] = _when(version.retain_until)
    if version.legal_hold:
        params["ObjectLockLegalHoldStatus"] = "ON"
    return params


class Copier:
    """Copies rows for one process: Services for the source, TargetClients for the rest."""

    def __init__(self, services: Services, clients: TargetClients) -> None:
        self.services = services
        self.clients = clients
        self._lock_checked: dict[tuple[int, str], tuple[float, bool]] = {}

    async def copy(self, row: OutboxEvent) -> str:
        """COPIED or SKIPPED; ReplicationError (or a client error) when it must be retried."""
        meta = self.services.meta
        version = await meta.get_object(row.bucket, row.key, row.version_id)
        if version is None:
            return SKIPPED
        is_replica = version.headers.get(STATUS_HEADER) == REPLICA
        if is_replica and row.event_name != OP_METADATA:
            return SKIPPED
        rules = await self.services.replication_rules.get(row.bucket)
        tags = {} if version.is_delete_marker else version.tags
        rule = covering(rules, row.key, tags, row.target)
        if is_replica and (rule is None or not rule.replica_modifications):
            return SKIPPED
        if rule is None or (
            row.event_name == OP_DELETE_MARKER and not rule.delete_marker_replication
        ):
            await self.mark(version, None)
            return SKIPPED
        target = await self.clients.target_of(row.target)
        if target is None:
            raise ReplicationError(f"no replication target serves bucket {row.target}")
        client = await self.clients.client(target)
        replica = (
            {REPLICA_PARAM: (version.version_id, version.last_modified)}
            if target.kloudvault
            else {}
        )
        try:
            if row.event_name == OP_DELETE_MARKER:
                if not version.is_delete_marker:
                    return SKIPPED
                await client.delete_object(Bucket=row.target, Key=row.key, **replica)
                return COPIED
            if version.is_delete_marker:
                return SKIPPED
            if row.event_name == OP_PUT:
                await self._put(client, row.target, version, rule, replica)
            elif row.event_name == OP_METADATA:
                await self._metadata(client, row.target, version, replica)
            else:
                raise ReplicationError(
                    f"unknown replication work {row.event_name!r}", permanent=True
                )
        except (ClientError, BotoCoreError) as exc:
            raise ReplicationError(_describe(exc)) from exc
        return COPIED  # COMPLETED once every destination has it: the worker's _delivered

    async def mark(self, version: ObjectVersion, status: str | None) -> None:
        """Set (or, None, clear) the source version's x-amz-replication-status; a REPLICA
        keeps its status (replica modification sync copies from replicas too)."""
        current = version.headers.get(STATUS_HEADER)
        if version.is_delete_marker or current == status or current == REPLICA:
            return

        def change(current: ObjectVersion) -> ObjectVersion:
            headers = {k: v for k, v in current.headers.items() if k != STATUS_HEADER}
            if status is not None:
                headers[STATUS_HEADER] = status
            return replace(current, headers=headers)

        await self.services.meta.update_version(
            version.bucket, version.key, version.version_id, change
        )

    # -- put -------------------------------------------------------------------------------

    async def _body(self, version: ObjectVersion) -> ByteStream:
        try:
            keys = await read_keys(self.services, version, {})
        except S3Error as exc:  # SSE-C: the key is the client's, never ours
            raise ReplicationError(
                f"cannot read {version.key}: {exc.message}", permanent=True
            ) from exc
        return stream_range(self.services.backend, version, 0, version.size, keys.kek)

    def _part_sizes(self, version: ObjectVersion) -> list[int] | None:
        """The source's part sizes when the copy can keep them (a multipart source with
        parts of at most MAX_SAME_PART), else None."""
        if version.parts_count is None:
            return None
        sizes = [seg.size for seg in version.segments]
        return sizes if max(sizes, default=0) <= MAX_SAME_PART else None

    async def _put(
        self,
        client: Any,
        bucket: str,
        version: ObjectVersion,
        rule: Rule,
        replica: Mapping[str, Any],
    ) -> None:
        params = put_params(version, rule)
        if any(k in params for k in _LOCK_PARAMS) and not await self._locks(client, bucket):
            params = {k: v for k, v in params.items() if k not in _LOCK_PARAMS}
        sizes = self._part_sizes(version)
        stream = await self._body(version)
        reader = PartReader(stream)
        try:
            if sizes is None and version.size <= SINGLE_PUT_MAX:
                data = await reader.read(version.size)
                self._check_length(version, len(data))
                md5 = hashlib.md5(data).hexdigest()
                if "-" not in version.etag and md5 != version.etag:
                    raise ReplicationError(f"{version.key}: stored bytes do not match the ETag")
                answer = await client.put_object(
                    Bucket=bucket,
                    Key=version.key,
                    Body=data,
                    ContentMD5=_md5_b64(data),
                    **params,
                    **replica,
                )
                if _unquote(answer.get("ETag", "")) != md5:
                    raise ReplicationError(f"{version.key}: the destination's ETag differs")
                return
            await self._multipart(client, bucket, version, params, replica, reader, sizes)
        finally:
            close = getattr(stream, "aclose", None)  # an async generator: its files, now
            if close is not None:
                await close()

    async def _multipart(
        self,
        client: Any,
        bucket: str,
        version: ObjectVersion,
        params: dict[str, Any],
        replica: Mapping[str, Any],
        reader: PartReader,
        sizes: list[int] | None,
    ) -> None:
        created = await client.create_multipart_upload(Bucket=bucket, Key=version.key, **params)
        upload_id = created["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            digests: list[bytes] = []
            remaining = version.size
            number = 0
            while remaining > 0:
                size = sizes[number] if sizes is not None else min(PART_SIZE, remaining)
                number += 1
                data = await reader.read(size)
                if len(data) != size:
                    raise ReplicationError(
                        f"{version.key}: the stored object is shorter than its size"
                    )
                digest = hashlib.md5(data)
                answer = await client.upload_part(
                    Bucket=bucket,
                    Key=version.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=base64.b64encode(digest.digest()).decode(),
                )
                if _unquote(answer["ETag"]) != digest.hexdigest():
                    raise ReplicationError(f"{version.key}: part {number}'s ETag differs")
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                digests.append(digest.digest())
                remaining -= size
            etag = f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"
            if sizes is not None and etag != version.etag:
                raise ReplicationError(f"{version.key}: stored bytes do not match the ETag")
            done = await client.complete_multipart_upload(
                Bucket=bucket,
                Key=version.key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                **replica,
            )
        except BaseException:
            try:
                await client.abort_multipart_upload(
                    Bucket=bucket, Key=version.key, UploadId=upload_id
                )
            except Exception:
                pass  # the destination's own cleanup (lifecycle) gets it
            raise
        if _unquote(done.get("ETag", "")) != etag:
            raise ReplicationError(f"{version.key}: the destination's ETag differs")

    async def _locks(self, client: Any, bucket: str) -> bool:
        """Whether the destination bucket has object lock (retention and legal holds go
        along only then: AWS's "where the destination allows"); asked once a minute."""
        now = time.monotonic()
        known = self._lock_checked.get((id(client), bucket))
        if known is not None and known[0] > now:
            return known[1]
        try:
            got = await client.get_object_lock_configuration(Bucket=bucket)
            lock = got.get("ObjectLockConfiguration", {})
            enabled = bool(lock.get("ObjectLockEnabled") == "Enabled")
        except ClientError:
            enabled = False
        self._lock_checked[(id(client), bucket)] = (now + 60.0, enabled)
        return enabled

    @staticmethod
    def _check_length(version: ObjectVersion, got: int) -> None:
        if got != version.size:
            raise ReplicationError(f"{version.key}: read {got} bytes of {version.size}")

    # -- metadata --------------------------------------------------------------------------

    async def _metadata(
        self, client: Any, bucket: str, version: ObjectVersion, replica: Mapping[str, Any]
    ) -> None:
        # A KloudVault keeps the version id: address it; another S3 has its own ids.
        which = {"VersionId": version.version_id} if replica else {}
        tag_set = [{"Key": k, "Value": v} for k, v in version.tags.items()]
        await client.put_object_tagging(
            Bucket=bucket, Key=version.key, Tagging={"TagSet": tag_set}, **which, **replica
        )
        if not await self._locks(client, bucket):
            return  # the destination bucket has no object lock: nothing to carry them
        if version.retention_mode and version.retain_until:
            await client.put_object_retention(
                Bucket=bucket,
                Key=version.key,
                Retention={
                    "Mode": version.retention_mode,
                    "RetainUntilDate": _when(version.retain_until),
                },
                BypassGovernanceRetention=True,
                **which,
                **replica,
            )
        # Always: this change may be the removal of a legal hold.
        await client.put_object_legal_hold(
            Bucket=bucket,
            Key=version.key,
            LegalHold={"Status": "ON" if version.legal_hold else "OFF"},
            **which,
            **replica,
        )


def _describe(exc: Exception) -> str:
    """A client error without the request (botocore messages may carry the endpoint)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{exc.operation_name}: {error.get('Code', '?')} (HTTP {status})"
    return type(exc).__name__
