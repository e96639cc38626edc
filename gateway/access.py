"""Authorization of one request: who asks, what it needs, and what the resources say.

Dispatch builds one `Access` per request, after authentication: the Requester (an account's
own key, an IAM user with its policies, or anonymous) and the condition keys are built
once; then `check()` asks auth/policy/decide.py about every action the operation needs
(auth/policy/actions.py). What a bucket says about access (its policy, ACL, ownership
controls and public access block) is read as one cached value per bucket
(`BucketAccess`); an object's ACL is read only when nothing else allowed the request, so
a bucket owner's own requests never pay for it.

The pure rules live in auth/policy/; this module is the I/O edge that feeds them.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache, partial

from auth.credentials import Principal, account_id
from auth.iam.authorize import requester_for
from auth.policy.acl import (
    OBJECT_PERMISSIONS,
    Acl,
    acl_from_json,
    acl_grant,
)
from auth.policy.actions import (
    ACTIONS,
    RequiredAction,
    ResourceKind,
    bucket_arn,
    required_actions,
)
from auth.policy.context import Requester, normalize_key
from auth.policy.decide import decide
from auth.policy.engine import Decision, NamedPolicy, Policies, Verdict
from auth.policy.keys import Network, request_keys, source_ip
from auth.policy.model import MalformedPolicy, Policy, PolicyKind, parse_policy
from auth.policy.ownership import ObjectOwnership, acls_enabled
from auth.policy.public import PublicAccessBlock
from events.scan.quarantine import is_quarantined
from gateway.coalesce import Coalescer
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, IamIdentity, MetaStore
from gateway.request_acl import BucketAclSettings, private_acl
from gateway.s3.headers import parse_copy_source
from gateway.s3.tagging import parse_tagging_header
from gateway.values import quick_init

log = logging.getLogger(__name__)

# Operations after which this process forgets what it cached about the bucket's access.
CHANGES_ACCESS = frozenset(
    {
        "PutBucketCors",
        "DeleteBucketCors",
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutBucketAcl",
        "PutPublicAccessBlock",
        "DeletePublicAccessBlock",
        "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
        "DeleteBucket",
        "CreateBucket",
    }
)
# Authorized by their handler once the request body has said who asks (POST Object's
# form carries its own signature): `check` only loads the bucket; see `for_form`.
FORM_AUTHORIZED = frozenset({"PostObject"})
_LIST_OPERATIONS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})
_MISSING_OBJECT = (S3ErrorCode.NO_SUCH_KEY, S3ErrorCode.NO_SUCH_VERSION)


@dataclass(frozen=True)
class BucketAccess:
    """What one bucket says about access; absent documents mean AWS's defaults."""

    owner: str  # the owning account's name
    policy: Policy | None = None
    acl: Acl | None = None
    ownership: ObjectOwnership = ObjectOwnership.OBJECT_WRITER
    block: PublicAccessBlock = field(default_factory=PublicAccessBlock)

    @property
    def owner_account_id(self) -> str:
        return account_id(self.owner)

    def effective_acl(self, acl: Acl | None) -> Acl | None:
        """The ACL as evaluation sees it: none when ACLs are off, public grants dropped
        under IgnorePublicAcls."""
        if acl is None or not acls_enabled(self.ownership):
            return None
        return self.block.effective_acl(acl)


@lru_cache(maxsize=1024)
def _bucket_policy(bucket: str, document: str) -> Policy | None:
    try:
        return parse_policy(document, PolicyKind.BUCKET, bucket=bucket)
    except MalformedPolicy:
        # Stored documents were validated when put; a rule tightened since then must not
        # turn a stored Deny into nothing silently, so refuse rather than ignore.
        log.error("bucket %s: stored policy no longer parses; denying its requests", bucket)
        raise S3Error(S3ErrorCode.ACCESS_DENIED) from None


@lru_cache(maxsize=4096)
def _identity_policy(source: str, document: str) -> NamedPolicy:
    # Identity documents were validated when put (auth/iam); their own size limits apply there.
    policy = parse_policy(document, PolicyKind.IDENTITY, max_chars=max(len(document), 1))
    return NamedPolicy(source, policy)


def bucket_access(bucket: Bucket, documents: Mapping[str, str]) -> BucketAccess:
    """A bucket's access value from its stored configuration documents. Pure."""
    policy = documents.get("policy")
    acl = documents.get("acl")
    ownership = documents.get("ownership")
    return BucketAccess(
        owner=bucket.owner,
        policy=None if policy is None else _bucket_policy(bucket.name, policy),
        acl=None if acl is None else acl_from_json(acl),
        ownership=ObjectOwnership.OBJECT_WRITER
        if ownership is None
        else ObjectOwnership(ownership),
        block=PublicAccessBlock.from_json(documents.get("public-access-block")),
    )


class AccessCache:
    """Buckets' access documents and values per process, for `ttl` seconds (0 with shared
    metadata: every replica reads the store, which Redis keeps coherent). A change made
    through this process is forgotten at once (`forget`); other processes see it within
    `ttl`."""

    def __init__(
        self, meta: MetaStore, *, ttl: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._meta = meta
        self._ttl = ttl
        self._clock = clock
        self._documents: dict[str, tuple[float, Mapping[str, str]]] = {}
        self._entries: dict[str, tuple[float, Bucket, BucketAccess]] = {}
        # Requests missing the same expired entry at once share one read (gateway/coalesce.py).
        self._loading: Coalescer[str, Mapping[str, str]] = Coalescer()
        # --scan: a quarantined object (events/scan/quarantine.py) is an explicit Deny of
        # reading it to all but its bucket's account; off, no read pays for the lookup.
        self.quarantine = False

    async def documents(self, bucket: str) -> Mapping[str, str]:
        """The bucket's ACCESS_CONFIGS documents by name (CORS reads its rules here)."""
        now = self._clock()
        hit = self._documents.get(bucket)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        if self._ttl <= 0:
            return await self._meta.get_access_configs(bucket)
        return await self._loading.run(bucket, lambda: self._load(bucket, now))

    async def _load(self, bucket: str, now: float) -> Mapping[str, str]:
        documents = await self._meta.get_access_configs(bucket)
        if len(self._documents) > 10_000:
            self._documents.clear()
        self._documents[bucket] = (now, documents)
        return documents

    async def get(self, bucket: Bucket) -> BucketAccess:
        now = self._clock()
        hit = self._entries.get(bucket.name)
        if hit is not None and now - hit[0] < self._ttl and hit[1] == bucket:
            return hit[2]
        value = bucket_access(bucket, await self.documents(bucket.name))
        if self._ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[bucket.name] = (now, bucket, value)
        return value

    def forget(self, bucket: str) -> None:
        self._documents.pop(bucket, None)
        self._entries.pop(bucket, None)
        self._loading.forget(bucket)


def trusted_networks(setting: str | None) -> tuple[Network, ...]:
    """--trusted-proxies as networks; a bad entry stops start-up (ValueError)."""
    if not setting:
        return ()
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    )


def requester_of(principal: Principal, identity: IamIdentity | None) -> Requester:
    if principal.user is None:
        return Requester.anonymous()
    return requester_for(principal.user, identity, is_admin=principal.is_root)


@quick_init
@dataclass(frozen=True)
class RequestFacts:
    """What dispatch knows of the request, for the condition keys."""

    operation: str
    bucket: str | None
    key: str | None
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    peer: str
    secure: bool
    now: float
    signature_version: str | None = None  # "AWS" or "AWS4-HMAC-SHA256"
    auth_type: str | None = None  # "REST-HEADER", "REST-QUERY-STRING", "POST"


class Access:
    """The authorization of one request (see the module docstring)."""

    def __init__(
        self,
        meta: MetaStore,
        cache: AccessCache,
        principal: Principal,
        identity: IamIdentity | None,
        facts: RequestFacts,
        trusted: tuple[Network, ...],
    ) -> None:
        self.meta = meta
        self.cache = cache
        self.principal = principal
        self.requester = requester_of(principal, identity)
        self.identity = (
            tuple(_identity_policy(s, d) for s, d in identity.policies) if identity else ()
        )
        # A role session's own policy narrows the role's (auth/policy/engine.py).
        self.session = (
            None
            if identity is None or identity.session_policy is None
            else (_identity_policy("session-policy", identity.session_policy),)
        )
        self.facts = facts
        self._trusted = trusted
        self.keys = ConditionKeys(partial(_condition_keys, facts, trusted))
        self._buckets: dict[str, BucketAccess | None] = {}

    # -- the questions dispatch and handlers ask ------------------------------------------------
    async def check(self, bucket: Bucket | None) -> None:
        """Raise AccessDenied unless every action the request needs is allowed.

        Operations authorized per key (DeleteObjects) are checked by their handler
        through `allowed`; here they only need the caller to be someone (AWS answers
        per key, but an anonymous caller never gets that far without a grant). POST
        Object (FORM_AUTHORIZED) is checked by its handler through `for_form`.
        """
        facts = self.facts
        rule = ACTIONS.get(facts.operation)
        if rule is None:  # not routed to a handler: dispatch answers NotImplemented
            return
        if bucket is not None:
            self._buckets[bucket.name] = await self.cache.get(bucket)
        elif facts.operation == "CreateBucket" and facts.bucket is not None:
            # Created in the caller's own account; an existing bucket of that name is the
            # handler's BucketAlreadyExists, not a question of its owner's policy.
            self._buckets[facts.bucket] = None
        if rule.resource is ResourceKind.PER_KEY or facts.operation in FORM_AUTHORIZED:
            return
        await self._require()

    # -- POST Object: the form, not the headers, names the principal ---------------------------
    def for_form(
        self,
        principal: Principal,
        identity: IamIdentity | None,
        *,
        key: str,
        fields: Mapping[str, str],
        signature_version: str | None,
    ) -> Access:
        """The authorization of a POST form's upload of `key`, as the principal its
        signature names (anonymous when unsigned). `fields` (lower-case names) stand in
        for the headers: `x-amz-acl` or `x-amz-tagging` there need their actions too."""
        facts = replace(
            self.facts,
            key=key,
            headers={**self.facts.headers, **fields},
            signature_version=signature_version,
            auth_type="POST",
        )
        return Access(self.meta, self.cache, principal, identity, facts, self._trusted)

    async def check_form(self, bucket: Bucket) -> None:
        """`check` for an operation in FORM_AUTHORIZED, once the form has been read."""
        self._buckets[bucket.name] = await self.cache.get(bucket)
        await self._require()

    async def _require(self) -> None:
        facts = self.facts
        needed = required_actions(
            facts.operation,
            facts.bucket,
            facts.key,
            version_id=facts.query.get("versionId"),
            headers=facts.headers,
        )
        await self._load_buckets(needed)
        await self._load_existing_tags()
        decision, refused = decide(self.requester, needed, self.keys, self._policies_for(None))
        if decision.allowed:
            await self._refuse_quarantined(needed)
            return
        if decision.verdict is Verdict.IMPLICIT_DENY and refused is not None:
            object_acl = await self._object_acl(refused)
            if object_acl is not None:
                decision, refused = decide(
                    self.requester, needed, self.keys, self._policies_for(object_acl)
                )
                if decision.allowed:
                    await self._refuse_quarantined(needed)
                    return
        self._denied(decision, refused)

    async def _refuse_quarantined(self, needed: tuple[RequiredAction, ...]) -> None:
        """The quarantine's explicit Deny: reading an object quarantined by the malware
        scan (events/scan/quarantine.py) is AccessDenied to all but the bucket's own
        account and the administrator, whatever policies and ACLs allow."""
        if not self.cache.quarantine or self.requester.is_admin:
            return
        for required in needed:
            if required.action not in _QUARANTINE_DENIES:
                continue
            name = _bucket_of(required.resource)
            access = None if name is None else self._buckets.get(name)
            if name is None or access is None:
                continue
            if self.requester.account_id == access.owner_account_id:
                continue
            key, version_id = self._addressed(name, required.resource)
            try:
                version = await self.meta.get_object(name, key, version_id)
            except S3Error:
                continue  # missing: the handler's answer
            if version is not None and not version.is_delete_marker and is_quarantined(version):
                log.info("access denied: %s/%s is quarantined", name, key)
                raise S3Error(S3ErrorCode.ACCESS_DENIED)

    def _addressed(self, bucket: str, resource: str) -> tuple[str, str | None]:
        """The key and version id an object ARN of this request stands for: the target's
        (?versionId), else a copy source's (x-amz-copy-source)."""
        key = resource[len(bucket_arn(bucket)) + 1 :]
        facts = self.facts
        if (bucket, key) == (facts.bucket, facts.key):
            return key, facts.query.get("versionId")
        source = facts.headers.get("x-amz-copy-source")
        if source is not None:
            try:
                src_bucket, src_key, src_version = parse_copy_source(source)
            except S3Error:
                return key, None
            if (src_bucket, src_key) == (bucket, key):
                return key, src_version
        return key, None

    async def allowed(self, action: str, resource: str) -> bool:
        """Whether one more action is allowed (per-key deletes, HEAD's 403-or-404)."""
        needed = (RequiredAction(action, resource),)
        await self._load_buckets(needed)
        decision, _ = decide(self.requester, needed, self.keys, self._policies_for(None))
        return decision.allowed

    def acl_settings(self, bucket: str) -> BucketAclSettings | None:
        """The addressed bucket's ownership and public access block, as already read."""
        access = self._buckets.get(bucket)
        return None if access is None else BucketAclSettings(access.ownership, access.block)

    async def hide_missing(self, error: S3Error) -> S3Error:
        """AWS: a missing object is NoSuchKey only to callers who may list the bucket;
        others get AccessDenied, so they cannot probe which keys exist."""
        if error.code not in _MISSING_OBJECT or self.facts.bucket is None:
            return error
        if await self.allowed("s3:ListBucket", bucket_arn(self.facts.bucket)):
            return error
        return S3Error(S3ErrorCode.ACCESS_DENIED)

    # -- feeding the engine -----------------------------------------------------------------
    async def _load_buckets(self, needed: tuple[RequiredAction, ...]) -> None:
        for required in needed:
            name = _bucket_of(required.resource)
            if name is None or name in self._buckets:
                continue
            record = await self.meta.get_bucket(name)
            # A copy source in a missing bucket: the handler answers NoSuchBucket.
            self._buckets[name] = None if record is None else await self.cache.get(record)

    def _policies_for(
        self, object_acl: Acl | None
    ) -> Callable[[RequiredAction], tuple[str | None, Policies]]:
        def policies_for(required: RequiredAction) -> tuple[str | None, Policies]:
            name = _bucket_of(required.resource)
            access = None if name is None else self._buckets.get(name)
            if access is None:
                # Service-level actions, and creating a bucket: the caller's own account.
                return self.requester.account_id, Policies(
                    identity=self.identity, session=self.session
                )
            on_object = required.action in OBJECT_PERMISSIONS and "/" in required.resource[13:]
            grant = acl_grant(
                required.action,
                self.requester,
                bucket_acl=access.effective_acl(access.acl),
                object_acl=access.effective_acl(object_acl) if on_object else None,
            )
            return access.owner_account_id, Policies(
                identity=self.identity,
                bucket=access.policy,
                acl=grant,
                restrict_public=access.block.restrict_public_buckets,
                session=self.session,
            )

        return policies_for

    async def _load_existing_tags(self) -> None:
        """s3:ExistingObjectTag/KEY: the addressed object's tags, read only when a policy
        that could apply asks for them."""
        facts = self.facts
        if facts.bucket is None or facts.key is None:
            return
        access = self._buckets.get(facts.bucket)
        policies = [named.policy for named in self.identity]
        if access is not None and access.policy is not None:
            policies.append(access.policy)
        if not any(_asks_existing_tags(policy) for policy in policies):
            return
        try:
            version = await self.meta.get_object(
                facts.bucket, facts.key, facts.query.get("versionId")
            )
        except S3Error:
            return
        if version is None or version.is_delete_marker:
            return
        for tag, value in version.tags.items():
            self.keys[normalize_key(f"{_EXISTING_TAG}{tag}")] = (value,)

    async def _object_acl(self, refused: RequiredAction) -> Acl | None:
        """The ACL of the object a refused object action is about, when ACLs could
        change the answer (ACLs on, an action an object ACL grants)."""
        if refused.action not in OBJECT_PERMISSIONS:
            return None
        name = _bucket_of(refused.resource)
        access = None if name is None else self._buckets.get(name)
        if name is None or access is None or not acls_enabled(access.ownership):
            return None
        key = refused.resource[len(bucket_arn(name)) + 1 :]
        version_id = self.facts.query.get("versionId") if name == self.facts.bucket else None
        try:
            version = await self.meta.get_object(name, key, version_id)
        except S3Error:
            return None  # missing: the handler's answer (or hide_missing's) decides
        if version is None or version.is_delete_marker:
            return None
        stored = version.acl
        return acl_from_json(stored) if stored else private_acl(version.owner or access.owner)

    def _denied(self, decision: Decision, refused: RequiredAction | None) -> None:
        log.debug(
            "access denied: %s %s (%s)",
            refused.action if refused else "-",
            refused.resource if refused else "-",
            decision.reason,
        )
        raise S3Error(S3ErrorCode.ACCESS_DENIED)


_EXISTING_TAG = "s3:existingobjecttag/"
_QUARANTINE_DENIES = frozenset({"s3:GetObject", "s3:GetObjectVersion"})
_TAGGED_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})


def _asks_existing_tags(policy: Policy) -> bool:
    return any(
        clause.key.lower().startswith(_EXISTING_TAG)
        for statement in policy.statements
        for clause in statement.conditions
    )


class ConditionKeys(MutableMapping[str, tuple[str, ...]]):
    """The request's condition keys (auth/policy/keys.py), built when first read: most
    requests meet no policy condition (an owner's own request, a bucket without a
    policy), and building them (the source address walked, the time formatted) was a
    twentieth of a HEAD's CPU."""

    def __init__(self, build: Callable[[], dict[str, tuple[str, ...]]]) -> None:
        self._build: Callable[[], dict[str, tuple[str, ...]]] | None = build
        self._keys: dict[str, tuple[str, ...]] = {}

    def _built(self) -> dict[str, tuple[str, ...]]:
        if self._build is not None:
            self._keys, self._build = self._build(), None
        return self._keys

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._built()[name]

    def __setitem__(self, name: str, values: tuple[str, ...]) -> None:
        self._built()[name] = values

    def __delitem__(self, name: str) -> None:
        del self._built()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def _condition_keys(
    facts: RequestFacts, trusted: tuple[Network, ...]
) -> dict[str, tuple[str, ...]]:
    return request_keys(
        now=datetime.fromtimestamp(facts.now, UTC),
        source_ip=source_ip(facts.peer, facts.headers.get("x-forwarded-for"), trusted),
        secure=facts.secure,
        headers=facts.headers,
        query=facts.query,
        signature_version=facts.signature_version,
        auth_type=facts.auth_type,
        version_id=facts.query.get("versionId"),
        request_tags=_request_tags(facts),
        list_keys=facts.operation in _LIST_OPERATIONS,
    )


def _request_tags(facts: RequestFacts) -> dict[str, str] | None:
    """s3:RequestObjectTag/KEY and s3:RequestObjectTagKeys: the x-amz-tagging of a write."""
    header = facts.headers.get("x-amz-tagging")
    if header is None or facts.operation not in _TAGGED_WRITES:
        return None
    try:
        return parse_tagging_header(header)
    except S3Error:
        return None  # the handler answers the malformed header


def _bucket_of(resource: str) -> str | None:
    """The bucket an S3 ARN names, None for "*"."""
    prefix = "arn:aws:s3:::"
    if not resource.startswith(prefix):
        return None
    return resource[len(prefix) :].split("/", 1)[0] or None
