"""The MetaStore protocol and its value types: users, keys, buckets, object versions, blobs.

Every implementation (sqlite, postgres) passes tests/contract/test_metastore_contract.py.

How blobs move through the store (DESIGN.md, "Write path"):

    add_pending_blob ──► blob written ──► put_object (one transaction: the version becomes
        │                                 visible, its blobs leave `pending`, the blobs of
        │                                 the version it replaces enter `garbage`)
        └─ upload fails ──► blob deleted ──► drop_pending_blob

    collector: collectable_blobs() -> delete from backend -> forget_blobs()

Multipart uploads (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):

    create_upload ──► put_part (one transaction per part: its blob leaves `pending` and
        │              becomes the upload's part; a part it replaces goes to `garbage`)
        ├─ complete_upload (one transaction: the listed parts' blobs become the new
        │                   version's segments, no byte is copied; unlisted parts go to
        │                   garbage; the upload is gone, remembered for retried Completes)
        └─ abort_upload (its parts' blobs go to garbage)

A part's blob is referenced (blob_is_referenced) and never collectable while its upload
exists, however long the upload stays open.

Timestamps are float seconds since the epoch (UTC). Keys order by their UTF-8 bytes.
Methods that must refuse (bucket exists, not empty, precondition) raise S3Error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, NamedTuple, Protocol, TypeVar

from gateway.codec.params import SegmentCodec
from gateway.limits.quota import QuotaUse, Scope
from gateway.values import quick_init

if TYPE_CHECKING:
    from events.records import EventIntent

NULL_VERSION = "null"


@dataclass(frozen=True)
class User:
    name: str
    created: float
    is_root: bool = False
    email: str | None = None  # grantee e-mail addresses of ACLs resolve to the account


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    secret_key: str
    user: str  # the account (users.name) the key acts for
    created: float
    is_root: bool = False
    iam_user: str | None = None  # None: the account's own key; else an IAM user of it
    active: bool = True  # IAM UpdateAccessKey Inactive: refused like an unknown key


@dataclass(frozen=True)
class IamIdentity:
    """An IAM user as authorization sees it (gateway/meta/identity.py)."""

    account: str
    name: str
    user_id: str
    path: str
    policies: tuple[tuple[str, str], ...]  # (source, JSON document)
    # An STS session of a role (auth/sts): name, user_id and path are the role's; the
    # session's name and its session policy (None: none) come with it.
    is_role: bool = False
    session_name: str | None = None
    session_policy: str | None = None


# What owns an inline policy or a managed policy attachment.
PolicyOwnerKind = Literal["user", "group", "role"]
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class IamUser:
    """An IAM user of an account (IAM's User: arn:aws:iam::<id>:user<path><name>)."""

    account: str
    name: str
    user_id: str  # AIDA...
    path: str
    created: float


@dataclass(frozen=True)
class IamGroup:
    account: str
    name: str
    group_id: str  # AGPA...
    path: str
    created: float


@dataclass(frozen=True)
class IamPolicy:
    """A customer managed policy: one version, its JSON document as the client sent it."""

    account: str
    name: str
    policy_id: str  # ANPA...
    path: str
    document: str
    created: float
    updated: float
    description: str | None = None
    attachment_count: int = 0  # filled in on reads


@dataclass(frozen=True)
class IamRole:
    """An IAM role (arn:aws:iam::<id>:role<path><name>) and who may assume it."""

    account: str
    name: str
    role_id: str  # AROA...
    path: str
    trust_policy: str  # the AssumeRolePolicyDocument as the client sent it
    max_session_duration: int  # seconds, 3600..43200
    created: float
    description: str | None = None


@dataclass(frozen=True)
class OidcProvider:
    """An OpenID Connect identity provider registered in an account."""

    account: str
    url: str  # the issuer without "https://": host[/path]
    client_ids: tuple[str, ...]
    thumbprints: tuple[str, ...]
    created: float


@dataclass(frozen=True)
class StsSession:
    """Temporary credentials: ASIA... access key, its secret, and what they act as.

    `role` set: a role session (session_name, session_policy); otherwise GetSessionToken's
    session of the account itself (iam_user None) or of one of its IAM users."""

    access_key: str
    secret_key: str
    token_sha256: str  # hex SHA-256 of the session token the client presents
    account: str
    role: str | None
    iam_user: str | None
    session_name: str | None
    session_policy: str | None
    source: str  # who obtained it (an ARN, or the web identity's issuer/subject)
    created: float
    expires: float
    revoked: bool = False


@dataclass(frozen=True)
class IamPage(Generic[T_co]):
    """One page of an IAM listing: names in byte order after the caller's marker."""

    items: tuple[T_co, ...]
    is_truncated: bool
    marker: str | None  # the next page's Marker (the last name returned) when truncated


@dataclass(frozen=True)
class Bucket:
    name: str
    owner: str
    created: float
    region: str = "us-east-1"
    # None: never enabled; "Enabled" or "Suspended" afterwards (it cannot go back to None).
    versioning: str | None = None
    object_lock: bool = False


@quick_init
@dataclass(frozen=True)
class Segment:
    """A slice of an object's bytes held in one blob.

    A single PUT has one segment; a completed multipart upload has one per part, carrying
    the part's number, ETag and checksums for partNumber reads and GetObjectAttributes.
    """

    blob_id: str
    size: int
    part_number: int | None = None
    etag: str | None = None
    checksums: Mapping[str, str] = field(default_factory=dict)
    # How the blob holds the bytes (sealed frames); None: plain, blob size == size.
    codec: SegmentCodec | None = None
    # Held in the version row (ObjectVersion.inline_data: the stored bytes, coded as a blob
    # would be), not in a backend; blob_id is then "" (gateway/writepath.py INLINE_LIMIT).
    inline: bool = False


@quick_init
@dataclass(frozen=True)
class ObjectVersion:
    bucket: str
    key: str
    version_id: str
    last_modified: float
    size: int = 0
    # The ETag without quotes: hex MD5, or "<hex>-<N>" for multipart objects.
    etag: str = ""
    is_delete_marker: bool = False
    # Filled in by the store on reads; ignored on writes (a written version becomes latest).
    is_latest: bool = True
    owner: str = ""
    content_type: str | None = None
    # Other stored content headers, lower-case name -> value: cache-control,
    # content-disposition, content-encoding, content-language, expires,
    # x-amz-website-redirect-location.
    headers: Mapping[str, str] = field(default_factory=dict)
    # x-amz-meta-* without the prefix, lower-case name -> value.
    user_meta: Mapping[str, str] = field(default_factory=dict)
    # Algorithm upper-case ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256") -> base64.
    checksums: Mapping[str, str] = field(default_factory=dict)
    checksum_type: str | None = None  # "FULL_OBJECT" or "COMPOSITE"
    segments: tuple[Segment, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    retention_mode: str | None = None  # "GOVERNANCE" or "COMPLIANCE"
    retain_until: float | None = None
    legal_hold: bool = False
    acl: str | None = None  # auth/policy/acl.py JSON; None: private to the owner
    # The stored bytes of an inline segment (Segment.inline), as the codec left them. Read
    # by get_object only: listings and other bulk reads leave it None.
    inline_data: bytes | None = field(default=None, repr=False)

    def as_latest(self, version_id: str) -> ObjectVersion:
        """This version as stored, its key's latest under `version_id`: what
        `dataclasses.replace(self, version_id=version_id, is_latest=True)` returns, without
        replace's walk over every field and a second frozen __init__ (together 5% of a small
        PUT's Python opcodes)."""
        if self.is_latest and self.version_id == version_id:
            return self
        stored = object.__new__(ObjectVersion)
        vars(stored).update(vars(self), version_id=version_id, is_latest=True)
        return stored

    @property
    def parts_count(self) -> int | None:
        """Number of parts for a multipart object, None for a single PUT."""
        if self.segments and self.segments[0].part_number is not None:
            return len(self.segments)
        return None


@dataclass(frozen=True)
class Precondition:
    """Conditions on the current latest version, checked inside the write transaction."""

    if_match: str | None = None  # ETag(s) without quotes, comma-separated, or "*"
    if_none_match_any: bool = False  # If-None-Match: *
    if_none_match: tuple[str, ...] = ()  # If-None-Match ETags, without quotes
    # The conditions held before the write began (ops checked them early): failing in the
    # transaction then means a concurrent write won (409 ConditionalRequestConflict).
    prechecked: bool = False


@dataclass(frozen=True)
class DeleteCondition:
    """Conditions on the version a delete addresses, checked inside its transaction."""

    if_match: str | None = None  # If-Match: ETag(s) or "*"
    last_modified: float | None = None  # x-amz-if-match-last-modified-time, epoch seconds
    size: int | None = None  # x-amz-if-match-size


@dataclass(frozen=True)
class DeleteOutcome:
    version_id: str | None  # the version removed, or of the delete marker created
    delete_marker: bool  # a delete marker was created (or the removed version was one)


class ListedObject(NamedTuple):
    """An object as ListObjects shows it: the listing reads these columns of the latest
    version and no more (gateway.meta.rows.LISTED_COLUMNS), so a page of 1,000 costs no
    decoding of headers, metadata or segments. A NamedTuple: a page builds 1,000 of them,
    and a tuple is built in a third of the time of a frozen dataclass."""

    key: str
    version_id: str
    last_modified: float
    size: int
    etag: str
    owner: str
    storage_class: str
    # The first of the version's checksums (sorted by algorithm), and its type: ListObjects
    # shows one ChecksumAlgorithm. None when the version has no checksum.
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class ListPage:
    objects: Sequence[ListedObject]
    common_prefixes: Sequence[str]
    is_truncated: bool
    # The last key or common prefix returned; the marker/start-after of the next page.
    next_marker: str | None


# How long a completed upload is remembered, so that a retried CompleteMultipartUpload
# (SDKs retry it after a timeout) gets the same answer instead of NoSuchUpload.
COMPLETED_UPLOAD_MEMORY = 3600.0

# How many uploaded candidates of one part number an upload keeps (MetaStore.put_part):
# enough for any client's retries, few enough that a loop re-uploading a number cannot
# pile up blobs until the upload ends.
MAX_PART_CANDIDATES = 8


@dataclass(frozen=True)
class Upload:
    """A multipart upload in progress: what CreateMultipartUpload said about the object."""

    bucket: str
    key: str
    # Generated by the gateway; sorts by initiation time (ListMultipartUploads order).
    upload_id: str
    initiated: float
    owner: str = ""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # as ObjectVersion.headers
    user_meta: Mapping[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None  # upper-case, as ObjectVersion.checksums keys
    checksum_type: str | None = None  # "COMPOSITE" or "FULL_OBJECT" when an algorithm is set
    acl: str | None = None  # the completed version's ACL, as ObjectVersion.acl
    # Parts are sealed in this mode; its sealed key checks each part's key (SSE-C).
    encryption: SegmentCodec | None = None


@dataclass(frozen=True)
class Part:
    """One uploaded part: its blob holds exactly the part's bytes."""

    number: int  # 1..10000
    blob_id: str
    size: int
    etag: str  # hex MD5 of the part, without quotes
    last_modified: float
    checksums: Mapping[str, str] = field(default_factory=dict)  # algorithm -> base64
    codec: SegmentCodec | None = None  # as Segment.codec


@dataclass(frozen=True)
class PartsPage:
    parts: Sequence[Part]
    is_truncated: bool
    # The number of the last part returned (the next page's part_number_marker).
    next_marker: int | None


@dataclass(frozen=True)
class UploadsPage:
    uploads: Sequence[Upload]
    common_prefixes: Sequence[str]
    is_truncated: bool
    # The last upload returned (key and id), or the last common prefix (key, id None).
    next_key_marker: str | None
    next_upload_id_marker: str | None


@dataclass(frozen=True)
class CompletedUpload:
    """What complete_upload remembers of an upload for COMPLETED_UPLOAD_MEMORY seconds."""

    bucket: str
    key: str
    upload_id: str
    version_id: str  # the version id as stored ("null" in unversioned buckets)
    etag: str
    parts_digest: str  # opaque: the caller's fingerprint of the Complete request's parts
    completed: float


# -- versioning, tagging, object lock, lifecycle ------------------------------------------


@dataclass(frozen=True)
class VersionsPage:
    """A page of ListObjectVersions: versions and delete markers (is_latest filled in) in key
    order, each key's newest first, and common prefixes; together at most max_keys."""

    versions: Sequence[ObjectVersion]
    common_prefixes: Sequence[str]
    is_truncated: bool
    # The last version returned (key, version id), or the last common prefix (prefix, None).
    next_key_marker: str | None
    next_version_id_marker: str | None


@dataclass(frozen=True)
class BucketUsage:
    """What a bucket stores: object versions (delete markers excluded) and their bytes."""

    bucket: str
    objects: int
    bytes: int


@dataclass(frozen=True)
class BlobBacklog:
    """Blobs the collector has yet to see to: on the pending list (uploads in progress or
    crashed) and on the garbage list; each count capped at the `cap` it was asked with."""

    pending: int
    garbage: int


@quick_init
@dataclass(frozen=True)
class RetentionFields:
    """Tags and object lock of a version; what CreateMultipartUpload asks of its object."""

    tags: Mapping[str, str] = field(default_factory=dict)
    retention_mode: str | None = None
    retain_until: float | None = None
    legal_hold: bool = False


@dataclass(frozen=True)
class ConsoleSession:
    """A web console session (gateway/console/): a cookie's token, stored as its SHA-256,
    acting as one access key (or STS session) until idle too long or past `expires`."""

    token_hash: str
    access_key: str
    account: str
    iam_user: str | None
    created: float
    last_seen: float
    expires: float  # sign-in time + the session lifetime (or the STS credentials' expiry)
    # Signed in by single sign-on: `access_key` is STS temporary credentials' (ASIA...)
    # and this their session token, sealed (auth/sealed.py) under the access key.
    session_token: str | None = None


ShareState = Literal["active", "revoked", "expired", "exhausted"]


@dataclass(frozen=True)
class ShareLink:
    """A revocable share link (gateway/sharing/): a bearer token, stored as its SHA-256,
    for one object or one version, acting with its creator's read access."""

    link_id: str
    token_hash: str
    account: str  # the creator's account
    iam_user: str | None  # the creating IAM user; None: the account's own key
    bucket: str
    key: str
    version_id: str | None  # None: whatever version is latest at download time
    created: float
    expires: float
    max_downloads: int | None = None  # None: no limit
    downloads: int = 0
    revoked: bool = False

    def state(self, now: float) -> ShareState:
        if self.revoked:
            return "revoked"
        if now >= self.expires:
            return "expired"
        if self.max_downloads is not None and self.downloads >= self.max_downloads:
            return "exhausted"
        return "active"


@dataclass(frozen=True)
class TusUpload:
    """A tus resumable upload (gateway/tus/): a multipart upload in progress, reached by
    a bearer token stored as its SHA-256, with the offset the client has reached."""

    token_hash: str
    upload_id: str
    bucket: str
    key: str
    length: int  # Upload-Length
    offset: int  # bytes stored so far: the sum of the parts' sizes
    part_number: int  # the last part (0: none yet)
    part_size: int  # its size
    metadata: Mapping[str, str]  # Upload-Metadata, decoded
    account: str  # the creator's account
    iam_user: str | None
    access_key: str  # the key (or STS session) that signed the creation
    created: float
    expires: float


@dataclass(frozen=True)
class KmsKey:
    """A key of the built-in KMS (gateway/codec/kms.py): each version's material sealed by
    the master key, the last one current."""

    key_id: str
    account: str
    alias: str | None
    description: str | None
    enabled: bool
    versions: tuple[str, ...]
    created: float

    @property
    def current_version(self) -> int:
        return len(self.versions) - 1


@dataclass(frozen=True)
class CodedRow:
    """A version (upload_id None) or an upload part (version_id None) whose segments carry
    codec parameters: what key rotation and compression stats walk."""

    bucket: str
    key: str
    version_id: str | None
    upload_id: str | None
    segments: tuple[Segment, ...]
    raw: str = ""  # the segments (or part codec) JSON as read: what replace_segments compares


@dataclass(frozen=True)
class PendingScan:
    """A version waiting for its malware scan (--scan-mode async; events/scan/worker.py)."""

    bucket: str
    key: str
    version_id: str
    enqueued: float
    due: float  # claimable from then on
    attempts: int = 0  # failed attempts so far


class RemovalCheck(Protocol):
    """Called inside the transaction that would remove `version` (the key's only version
    when `sole`); raises S3Error to refuse (object lock, or the version changed)."""

    def __call__(self, version: ObjectVersion, /, *, sole: bool) -> None: ...


# Given a version as stored, the version with its new tags, retention and legal hold.
VersionChange = Callable[[ObjectVersion], ObjectVersion]

# Names of bucket configuration documents (put_bucket_config). The Redis cache voids
# these entries when a bucket is deleted.
BUCKET_CONFIGS = (
    "lifecycle",
    "tagging",
    "object-lock",
    "policy",  # the bucket policy, as the client sent it (JSON)
    "acl",  # the bucket ACL (auth/policy/acl.py JSON); absent: private to the owner
    "ownership",  # ObjectOwnership value; absent: ObjectWriter
    "public-access-block",  # PublicAccessBlock JSON
    "cors",  # CORSConfiguration XML (gateway/s3/cors.py)
    "encryption",  # default ServerSideEncryptionConfiguration JSON (gateway/xml/encryption.py)
    "website",  # WebsiteConfiguration XML (gateway/s3/website.py)
    "compression",  # off|auto|on: this bucket's --compression (gateway/compression.py)
    "notification",  # NotificationConfiguration XML (events/config.py)
    "replication",  # ReplicationConfiguration XML (gateway/s3/replication.py)
)

# The ones read on every request to a bucket (get_access_configs, one cache entry):
# authorization's, and CORS for every request a browser sends with an Origin.
POLICY_CONFIG = "policy"
ACL_CONFIG = "acl"
OWNERSHIP_CONFIG = "ownership"
PUBLIC_ACCESS_BLOCK_CONFIG = "public-access-block"
CORS_CONFIG = "cors"
ACCESS_CONFIGS = (
    POLICY_CONFIG,
    ACL_CONFIG,
    OWNERSHIP_CONFIG,
    PUBLIC_ACCESS_BLOCK_CONFIG,
    CORS_CONFIG,
)


class MetaStore(Protocol):
    """Users, keys, buckets and object versions; the one source of truth for what exists."""

    async def open(self) -> None:
        """Connect and apply pending numbered migrations (safe when several start at once)."""
        ...

    async def close(self) -> None: ...

    # -- users and access keys ------------------------------------------------------------
    async def create_user(self, name: str, *, is_root: bool = False, now: float) -> User:
        """Raise KeyError if the user exists."""
        ...

    async def get_user(self, name: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def delete_user(self, name: str) -> bool:
        """Delete the user and its keys; False if there was no such user."""
        ...

    async def create_access_key(
        self, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        """Raise KeyError if the user does not exist."""
        ...

    async def get_access_key(self, access_key: str) -> AccessKey | None: ...

    async def list_access_keys(self, user: str) -> list[AccessKey]: ...

    async def delete_access_key(self, access_key: str) -> bool: ...

    async def set_access_key_active(self, user: str, access_key: str, active: bool) -> bool:
        """(De)activate account `user`'s own key (an inactive key is refused like an
        unknown one); False if it has no such key."""
        ...

    async def reseal_access_key(self, access_key: str, stored: str, sealed: str) -> bool:
        """Replace the key's stored secret with `sealed` if it is still `stored` (another
        process may have resealed it first); whether it was replaced."""
        ...

    async def set_user_email(self, name: str, email: str | None) -> bool:
        """Set (None: clear) the account's e-mail address; False if there is no such user."""
        ...

    async def accounts_by_email(self, email: str) -> list[str]:
        """The accounts whose e-mail address is `email` (compared case-insensitively), by
        name: what an ACL grantee given by e-mail address resolves to."""
        ...

    async def get_identity(self, account: str, user: str) -> IamIdentity | None:
        """IAM user `user` of `account` with every policy that applies to it, or None."""
        ...

    # -- web console sessions (gateway/meta/console_sessions.py) ------------------------------
    # Never cached: a sign-out must hold on every replica at once.

    async def create_console_session(self, session: ConsoleSession, now: float) -> None:
        """Store a new session, and forget every session that expired before `now`."""
        ...

    async def get_console_session(self, token_hash: str) -> ConsoleSession | None: ...

    async def touch_console_session(self, token_hash: str, now: float) -> None:
        """Record that the session was used at `now` (its idle timeout starts again)."""
        ...

    async def delete_console_session(self, token_hash: str) -> bool:
        """Forget the session (sign-out); False if there was none."""
        ...

    # -- IAM users, groups and policies of an account (gateway/meta/iam.py) -----------------
    # Each method raises auth.iam.errors.IamError as IAM answers: NoSuchEntity (the account
    # or a named entity is missing), EntityAlreadyExists, DeleteConflict (still in use),
    # LimitExceeded (IAM's quotas). Listings page by name: items named after `marker`.

    async def create_iam_user(
        self, account: str, name: str, *, path: str, user_id: str, now: float
    ) -> IamUser: ...

    async def get_iam_user(self, account: str, name: str) -> IamUser | None: ...

    async def list_iam_users(
        self, account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
    ) -> IamPage[IamUser]: ...

    async def delete_iam_user(self, account: str, name: str) -> None:
        """DeleteConflict while it has access keys, inline or attached policies or groups."""
        ...

    async def create_user_access_key(
        self, account: str, user: str, access_key: str, secret_key: str, *, now: float
    ) -> AccessKey:
        """A key of IAM user `user` (iam_user set); LimitExceeded past 2 keys."""
        ...

    async def list_user_access_keys(self, account: str, user: str) -> list[AccessKey]: ...

    async def update_access_key_status(
        self, account: str, user: str, access_key: str, *, active: bool
    ) -> None:
        """Activate or deactivate a key of IAM user `user`: an inactive key authenticates
        nothing (on every replica at once with the Redis cache)."""
        ...

    async def delete_user_access_key(self, account: str, user: str, access_key: str) -> None: ...

    async def put_inline_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, name: str, document: str
    ) -> None:
        """Create or replace; LimitExceeded past the owner's aggregate size quota."""
        ...

    async def get_inline_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, name: str
    ) -> str: ...

    async def list_inline_policies(
        self,
        account: str,
        kind: PolicyOwnerKind,
        owner: str,
        *,
        marker: str = "",
        max_items: int = 100,
    ) -> IamPage[str]: ...

    async def delete_inline_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, name: str
    ) -> None: ...

    async def create_iam_group(
        self, account: str, name: str, *, path: str, group_id: str, now: float
    ) -> IamGroup: ...

    async def get_iam_group(self, account: str, name: str) -> IamGroup | None: ...

    async def list_iam_groups(
        self, account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
    ) -> IamPage[IamGroup]: ...

    async def list_group_members(
        self, account: str, group: str, *, marker: str = "", max_items: int = 100
    ) -> IamPage[IamUser]: ...

    async def delete_iam_group(self, account: str, name: str) -> None:
        """DeleteConflict while it has members, inline or attached policies."""
        ...

    async def add_user_to_group(self, account: str, group: str, user: str) -> None: ...

    async def remove_user_from_group(self, account: str, group: str, user: str) -> None: ...

    async def list_groups_for_user(
        self, account: str, user: str, *, marker: str = "", max_items: int = 100
    ) -> IamPage[IamGroup]: ...

    async def create_iam_policy(
        self,
        account: str,
        name: str,
        *,
        path: str,
        policy_id: str,
        document: str,
        description: str | None,
        now: float,
    ) -> IamPolicy: ...

    async def get_iam_policy(self, account: str, name: str) -> IamPolicy | None: ...

    async def list_iam_policies(
        self,
        account: str,
        *,
        path_prefix: str = "/",
        only_attached: bool = False,
        marker: str = "",
        max_items: int = 100,
    ) -> IamPage[IamPolicy]: ...

    async def delete_iam_policy(self, account: str, name: str) -> None:
        """DeleteConflict while attached to a user or group."""
        ...

    async def attach_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, policy: str
    ) -> None:
        """Attach managed policy `policy` (idempotent); LimitExceeded past 10 per owner."""
        ...

    async def detach_policy(
        self, account: str, kind: PolicyOwnerKind, owner: str, policy: str
    ) -> None: ...

    async def list_attached_policies(
        self,
        account: str,
        kind: PolicyOwnerKind,
        owner: str,
        *,
        path_prefix: str = "/",
        marker: str = "",
        max_items: int = 100,
    ) -> IamPage[IamPolicy]: ...

    # -- roles, OpenID Connect providers, STS sessions (gateway/meta/roles.py) ----------------
    # A role's inline and attached policies are the *_policy methods' kind "role".

    async def create_iam_role(self, role: IamRole) -> IamRole:
        """EntityAlreadyExists for a taken name (any case); NoSuchEntity: no account."""
        ...

    async def get_iam_role(self, account: str, name: str) -> IamRole | None: ...

    async def list_iam_roles(
        self, account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
    ) -> IamPage[IamRole]: ...

    async def delete_iam_role(self, account: str, name: str) -> None:
        """DeleteConflict while it has policies; its sessions stop working."""
        ...

    async def update_iam_role(
        self,
        account: str,
        name: str,
        *,
        trust_policy: str | None = None,
        max_session_duration: int | None = None,
        description: str | None = None,
    ) -> None:
        """Change what is given (None: unchanged); NoSuchEntity for no such role."""
        ...

    async def get_role_identity(self, account: str, role: str) -> IamIdentity | None:
        """Role `role` of `account` with its inline and attached policies, or None."""
        ...

    async def create_oidc_provider(self, provider: OidcProvider) -> OidcProvider:
        """EntityAlreadyExists for a URL already registered in the account."""
        ...

    async def get_oidc_provider(self, account: str, url: str) -> OidcProvider | None: ...

    async def list_oidc_providers(self, account: str) -> list[OidcProvider]: ...

    async def delete_oidc_provider(self, account: str, url: str) -> None:
        """NoSuchEntity for a URL not registered."""
        ...

    async def create_sts_session(self, session: StsSession) -> None: ...

    async def get_sts_session(self, access_key: str) -> StsSession | None:
        """The session; None if unknown or if its role has since been deleted."""
        ...

    async def revoke_sts_sessions(
        self, account: str, *, role: str | None = None, access_key: str | None = None, now: float
    ) -> int:
        """Revoke the sessions of `role` (or the one `access_key`; neither: all the
        account's); how many were live. Expired rows are removed on the way."""
        ...

    # -- buckets ----------------------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        """Raise S3Error BUCKET_ALREADY_OWNED_BY_YOU (same owner) or BUCKET_ALREADY_EXISTS."""
        ...

    async def get_bucket(self, name: str) -> Bucket | None: ...

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        """Buckets sorted by name; all of them when owner is None."""
        ...

    async def delete_bucket(self, name: str) -> None:
        """Raise S3Error NO_SUCH_BUCKET, or BUCKET_NOT_EMPTY if any version exists.

        Multipart uploads in progress do not keep a bucket alive (as in S3): they are
        aborted in the same transaction (their parts' blobs go to garbage), and the
        bucket's remembered completed uploads are forgotten.
        """
        ...

    # -- objects ----------------------------------------------------------------------------
    async def put_object(
        self,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        """Make `version` the latest version of its key, atomically.

        Every write of an object takes `events` (None: the bucket notifies nothing): the
        outbox rows of the events the change causes are inserted in its transaction
        (gateway/meta/events.py), so they commit, or not, with it.

        Unless the bucket's versioning is "Enabled", the stored version id is "null" and an
        existing "null" version is replaced (its blobs go to garbage); with versioning
        Enabled, `version.version_id` is kept and older versions stay. The version's blobs
        leave `pending` (raise S3Error INTERNAL_ERROR if one is no longer pending: it was
        collected). The precondition is checked against the current latest version (a
        delete marker counts as absent): S3Error PRECONDITION_FAILED, or NO_SUCH_KEY for
        If-Match on a missing key. Raise S3Error NO_SUCH_BUCKET if the bucket is gone.
        Returns the version as stored.
        """
        ...

    async def get_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        """The latest version (which may be a delete marker) or the given version."""
        ...

    async def delete_object(
        self,
        bucket: str,
        key: str,
        version_id: str | None = None,
        *,
        now: float,
        condition: DeleteCondition | None = None,
        events: EventIntent | None = None,
    ) -> DeleteOutcome:
        """Delete as S3 does for the bucket's versioning state.

        `condition` is checked first, in the same transaction, against the addressed
        version (gateway.s3.preconditions.check_delete_condition may raise S3Error:
        nothing is deleted then).

        Without version_id: unversioned buckets lose the key's "null" version (blobs to
        garbage); Enabled buckets get a new delete marker; Suspended buckets replace the
        "null" version with a delete marker. With version_id: that version is removed.
        Deleting what does not exist succeeds with version_id None.
        """
        ...

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """Latest non-delete-marker versions with key > start_after, in key order.

        With a delimiter, keys sharing prefix + ... + delimiter roll up into one common
        prefix; the store seeks past each common prefix instead of reading its keys.
        Objects and common prefixes together count against max_keys.
        """
        ...

    # -- blobs ------------------------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str, *, now: float) -> None: ...

    async def drop_pending_blob(self, blob_id: str) -> None:
        """Forget a pending blob whose upload failed and which was deleted."""
        ...

    async def collectable_blobs(
        self, *, garbage_before: float, pending_before: float, limit: int = 1000
    ) -> list[str]:
        """Garbage blobs older than garbage_before and pending blobs older than
        pending_before (uploads that crashed); the collector deletes them."""
        ...

    async def forget_blobs(self, blob_ids: Sequence[str]) -> None:
        """Remove blobs from the pending and garbage lists once deleted from the backend."""
        ...

    async def blob_is_referenced(self, blob_id: str) -> bool:
        """True if some version or upload part uses the blob (for the scrubber)."""
        ...

    async def referenced_blobs(self, after: str = "", limit: int = 1000) -> list[str]:
        """The blob ids that versions' segments or upload parts use, each once, in
        ascending order, the first `limit` of those > `after` (gateway/jobs/scrub.py pages
        through them with the last id returned)."""
        ...

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        """Those of `blob_ids` the store accounts for: referenced (as above), pending or
        garbage. A backend blob outside this set is an orphan (gateway/jobs/scrub.py)."""
        ...

    async def blob_backlog(self, *, cap: int) -> BlobBacklog:
        """How many blobs are pending and garbage, each counted up to `cap` at most."""
        ...

    async def bucket_usage(self, limit: int = 1000) -> list[BucketUsage]:
        """The `limit` buckets storing the most bytes, with their usage, most first. Kept
        with every version row written or removed, in the same transaction: never a scan."""
        ...

    # -- quotas (gateway/meta/quotas.py) ----------------------------------------------------
    async def set_quota(
        self, scope: Scope, name: str, max_bytes: int | None, max_objects: int | None
    ) -> None:
        """Set the quota of a bucket or account (None: that dimension unlimited). S3Error
        NO_SUCH_BUCKET for a missing bucket, KeyError for a missing account."""
        ...

    async def clear_quota(self, scope: Scope, name: str) -> bool:
        """Remove a quota; False if there was none."""
        ...

    async def list_quotas(self) -> list[QuotaUse]:
        """Every quota with its current usage (an account's: the sum over its buckets)."""
        ...

    async def quota_uses(
        self, bucket: str, *, upload_id: str | None = None, part_number: int | None = None
    ) -> list[QuotaUse]:
        """The quotas a write into `bucket` must keep within, with their usage; the parts of
        `upload_id` (but `part_number`) count as used. Advisory: put_object and
        complete_upload check again inside their transaction and raise QuotaExceeded."""
        ...

    # -- multipart uploads ------------------------------------------------------------------
    # An upload is addressed by (bucket, key, upload_id): an id used with another bucket or
    # key is no upload at all (NO_SUCH_UPLOAD), as in S3.

    async def create_upload(self, upload: Upload) -> None:
        """Record a new upload. Raise S3Error NO_SUCH_BUCKET if the bucket is gone."""
        ...

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload | None:
        """The upload in progress, or None (never created, aborted or completed)."""
        ...

    async def put_part(self, bucket: str, key: str, upload_id: str, part: Part) -> None:
        """Add `part` to the candidates for the upload's part number `part.number`,
        atomically. Every candidate is kept until the upload is completed (the Complete
        names one by its ETag) or aborted, within two bounds: of candidates with one ETag
        only the one whose request began last (Part.last_modified) stays, and at most
        MAX_PART_CANDIDATES stay, the latest-begun; a dropped candidate's blob goes to
        garbage (since part.last_modified), `part.blob_id` too if it is the one dropped.

        In one transaction: raise S3Error NO_SUCH_UPLOAD if the upload is no longer in
        progress (aborted or completed while the part streamed: the caller then deletes
        the blob, which is still pending); take `part.blob_id` out of `pending` (raise
        S3Error INTERNAL_ERROR if it is not pending: collected as stale).
        """
        ...

    async def list_part_candidates(self, bucket: str, key: str, upload_id: str) -> list[Part]:
        """Every kept candidate of every part number of the upload (at most
        MAX_PART_CANDIDATES per number), by number, the latest-begun first within one
        (what list_parts shows). Raise S3Error NO_SUCH_UPLOAD if not in progress."""
        ...

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = 1000,
    ) -> PartsPage:
        """Parts numbered above part_number_marker, in number order, at most max_parts:
        of each number, the candidate whose request began last (then the greatest blob id).

        is_truncated is exact (more parts exist); next_marker is the last number returned
        (None when no part is returned). Raise S3Error NO_SUCH_UPLOAD if not in progress.
        """
        ...

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadsPage:
        """Uploads in progress in (key, upload_id) order: ListMultipartUploads.

        Only keys starting with `prefix`. Position: with key_marker alone, keys after
        key_marker; with both markers, uploads of key_marker with an id after
        upload_id_marker, then keys after key_marker; upload_id_marker without key_marker
        is ignored. With a delimiter, keys holding it after the prefix roll up into one
        common prefix (prefix + ... + delimiter), listed once in key order and skipped by
        seeking, as list_objects does; a key_marker inside a common prefix skips that
        prefix. Uploads and common prefixes together count against max_uploads;
        is_truncated is exact. next_key_marker/next_upload_id_marker: the last upload
        returned, or the last common prefix with next_upload_id_marker None.
        Raise S3Error NO_SUCH_BUCKET if the bucket is gone.
        """
        ...

    async def complete_upload(
        self,
        upload_id: str,
        version: ObjectVersion,
        precondition: Precondition | None = None,
        *,
        parts_digest: str,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        """Turn the upload of (version.bucket, version.key) into `version`, atomically.

        `version.segments` are the listed parts, in order: each carries the part's number,
        blob id, size, ETag and checksums as list_parts returned them. In one transaction:
        - raise S3Error NO_SUCH_UPLOAD if the upload is not in progress;
        - raise S3Error INVALID_PART if any segment's (part_number, blob_id, etag) is not
          one of the upload's candidates of that number (dropped, or never uploaded,
          since the caller listed them);
        - publish the version exactly as put_object does (versioning, the replaced "null"
          version's blobs to garbage, the precondition, NO_SUCH_BUCKET), except that the
          blobs are not pending: they pass from the upload's parts to the version;
        - move the blobs of the upload's candidates that are not segments to garbage
          (since version.last_modified), and remove the upload and its parts;
        - remember CompletedUpload(version.bucket, version.key, upload_id, stored version
          id, version.etag, parts_digest, completed=version.last_modified), and forget
          remembered uploads completed before version.last_modified -
          COMPLETED_UPLOAD_MEMORY.
        On any error nothing changes (the upload stays in progress). Returns the version
        as stored.
        """
        ...

    async def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload | None:
        """A remembered completion of this upload (see complete_upload), or None."""
        ...

    async def abort_upload(self, bucket: str, key: str, upload_id: str, *, now: float) -> None:
        """Remove the upload and its parts; their blobs go to garbage (since `now`).

        Raise S3Error NO_SUCH_UPLOAD if it is not in progress. A put_part racing with the
        abort either lands before it (and its blob goes to garbage with the others) or
        fails with NO_SUCH_UPLOAD.
        """
        ...

    # -- versioning, tagging, object lock, lifecycle ----------------------------------------
    async def put_bucket_versioning(self, name: str, status: str) -> None:
        """Set versioning to "Enabled" or "Suspended" (ValueError for anything else).

        Raise S3Error NO_SUCH_BUCKET, or INVALID_BUCKET_STATE when suspending a bucket with
        object lock (it stays Enabled for good).
        """
        ...

    async def enable_object_lock(self, name: str) -> None:
        """Turn object lock on for good. Raise S3Error NO_SUCH_BUCKET, or
        INVALID_BUCKET_STATE unless versioning is Enabled."""
        ...

    async def get_bucket_config(self, bucket: str, name: str) -> str | None:
        """The bucket's configuration document `name` (BUCKET_CONFIGS), or None."""
        ...

    async def get_access_configs(self, bucket: str) -> dict[str, str]:
        """The bucket's ACCESS_CONFIGS documents that exist, by name (one read)."""
        ...

    async def put_bucket_config(self, bucket: str, name: str, document: str | None) -> None:
        """Store (None: delete) a configuration document; gone with the bucket.
        Raise S3Error NO_SUCH_BUCKET."""
        ...

    async def list_object_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionsPage:
        """Every version and delete marker of keys starting with `prefix`, in key order and
        each key's newest first (gateway/meta/version_listing.py).

        Position: with key_marker alone, keys after it; with a version_id_marker, the
        versions of key_marker older than that one, then keys after it (a marker naming no
        version of key_marker: keys after it). Common prefixes roll up and are skipped by
        seeking, as in list_objects. Raise S3Error NO_SUCH_BUCKET.
        """
        ...

    async def update_version(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: VersionChange,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion | None:
        """Set a version's tags, retention and legal hold, atomically.

        In one transaction: read the version (the latest one, which may be a delete marker,
        when version_id is None), call change(version), which may raise S3Error, and store
        the tags, retention_mode, retain_until and legal_hold of what it returns (nothing
        else). Returns the updated version, or None when there is no such version.
        """
        ...

    async def put_object_acl(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        acl: str | None,
        *,
        events: EventIntent | None = None,
    ) -> ObjectVersion:
        """Set one version's ACL (the stored JSON; None: private), atomically.

        The latest version when version_id is None. Raise S3Error as a request addressing
        that version is answered (gateway.s3.versions.addressed): NO_SUCH_KEY,
        NO_SUCH_VERSION, or for a delete marker NO_SUCH_KEY (latest) / METHOD_NOT_ALLOWED
        (named). Returns the updated version.
        """
        ...

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        *,
        now: float,
        check: RemovalCheck | None = None,
        condition: DeleteCondition | None = None,
        events: EventIntent | None = None,
    ) -> DeleteOutcome:
        """delete_object(bucket, key, version_id, condition=condition), after
        check(version, sole=...) passed in the same transaction (it may raise S3Error:
        nothing is removed then)."""
        ...

    async def expire_object(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str,
        last_modified: float,
        now: float,
        events: EventIntent | None = None,
    ) -> DeleteOutcome | None:
        """Lifecycle expiry of a current version: if the latest version of `key` is still
        (version_id, last_modified) and no delete marker, do what delete_object(bucket,
        key) does, in the same transaction; else nothing (None)."""
        ...

    async def put_upload_retention(
        self, bucket: str, key: str, upload_id: str, fields: RetentionFields
    ) -> None:
        """Remember an upload's tags and lock for its completion; forgotten with the upload.
        Raise S3Error NO_SUCH_UPLOAD if it is not in progress."""
        ...

    async def get_upload_retention(self, upload_id: str) -> RetentionFields | None: ...

    # -- the built-in KMS and coded segments (gateway/meta/kms.py) ---------------------------
    # Never cached: a disabled key must stop working at once.

    async def create_kms_key(self, key: KmsKey) -> None:
        """Store a new key; raise KeyError if its id, or its alias in the account, is taken."""
        ...

    async def get_kms_key(self, key_id: str) -> KmsKey | None: ...

    async def find_kms_alias(self, account: str, alias: str) -> KmsKey | None: ...

    async def list_kms_keys(self, account: str | None = None) -> list[KmsKey]:
        """Every key (of `account`), oldest first."""
        ...

    async def set_kms_key_enabled(self, key_id: str, enabled: bool) -> bool:
        """False if there is no such key."""
        ...

    async def add_kms_key_version(
        self, key_id: str, version: int, sealed_material: str
    ) -> KmsKey | None:
        """Append version number `version` (rotation); the key as it now is, or None if
        there is no such key or its next version is not `version` (a concurrent rotation)."""
        ...

    async def replace_kms_key_versions(
        self, key_id: str, old: tuple[str, ...], new: tuple[str, ...]
    ) -> bool:
        """Swap a key's sealed versions (a master key rotation) if they are still `old`."""
        ...

    async def coded_versions(
        self, contains: str, after: tuple[str, str, str] = ("", "", ""), limit: int = 500
    ) -> list[CodedRow]:
        """Versions whose segments' JSON contains `contains`, in (bucket, key, version id)
        order after `after`."""
        ...

    async def coded_parts(
        self, contains: str, after: tuple[str, int, str] = ("", 0, ""), limit: int = 500
    ) -> list[CodedRow]:
        """Part candidates of uploads in progress whose codec JSON contains `contains`, in
        (upload id, part number, blob id) order after `after`; one segment each, carrying
        its part number and blob id."""
        ...

    async def replace_segments(self, row: CodedRow, segments: tuple[Segment, ...]) -> bool:
        """Swap a row's segments (codec parameters only) if they are still `row.segments`;
        False when the row changed or went meanwhile."""
        ...

    # -- pending malware scans (gateway/meta/scans.py) ---------------------------------------
    # Never cached: a work queue, claimed by one replica at a time.

    async def add_pending_scan(
        self, bucket: str, key: str, version_id: str, *, now: float, due: float
    ) -> None:
        """Remember that this version waits for its scan (nothing if already pending);
        claimable from `due` on."""
        ...

    async def claim_pending_scans(self, now: float, until: float, limit: int) -> list[PendingScan]:
        """Up to `limit` pending scans due at `now`, oldest first, each made due again only
        at `until` (a lease), atomically: concurrent claims never return the same row."""
        ...

    async def retry_pending_scan(self, bucket: str, key: str, version_id: str, due: float) -> None:
        """Count a failed attempt; the scan is due again at `due`."""
        ...

    async def drop_pending_scan(self, bucket: str, key: str, version_id: str) -> None:
        """The scan is done (or its version is gone)."""
        ...

    # -- share links (gateway/meta/shares.py) ------------------------------------------------
    # Never cached (CachedMetaStore passes them through): a revoked link must stop working
    # on every replica at once.

    async def create_share_link(self, link: ShareLink) -> None:
        """Store a new link; raise KeyError if its token hash or id is taken."""
        ...

    async def get_share_link(self, token_hash: str) -> ShareLink | None: ...

    async def list_share_links(self, account: str, iam_user: str | None = None) -> list[ShareLink]:
        """The account's links, newest first; with `iam_user`, only that IAM user's."""
        ...

    async def revoke_share_link(
        self, account: str, link_id: str, iam_user: str | None = None
    ) -> ShareLink | None:
        """Revoke link `link_id` of the account (with `iam_user`: only if that IAM user
        created it); the link as revoked, or None if there is no such link."""
        ...

    async def claim_share_download(
        self, token_hash: str, now: float
    ) -> tuple[ShareLink | None, bool]:
        """Count one download if the link is active at `now`, atomically (concurrent claims
        never exceed max_downloads): (the link as counted, True); else (the link as it
        stands, or None if there is none, False)."""
        ...

    # -- tus uploads (gateway/meta/tus.py) ------------------------------------------------
    # Never cached: the offset moves with every PATCH, on any replica.

    async def create_tus_upload(self, tus: TusUpload) -> None:
        """Record the tus side of an upload in progress (create_upload came first);
        raise S3Error NO_SUCH_UPLOAD if that upload is gone."""
        ...

    async def get_tus_upload(self, token_hash: str) -> TusUpload | None:
        """The upload, or None (never created, or its multipart upload is over)."""
        ...

    async def append_tus_part(self, token_hash: str, offset: int, part: Part) -> TusUpload:
        """put_part(part) and move the upload to `offset` + the bytes it adds, atomically:
        `part` is the upload's next part, or a larger copy of its last one (same number).
        Raise S3Error NO_SUCH_UPLOAD if the upload is gone and KeyError if its offset is
        no longer `offset` (a concurrent PATCH won); nothing changes then."""
        ...

    async def abort_expired_tus_uploads(self, now: float, limit: int = 1000) -> int:
        """Abort (as abort_upload) up to `limit` tus uploads whose expiry is at or before
        `now`, oldest first; how many were aborted."""
        ...
