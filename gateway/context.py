"""Typed app singletons (Services) and the per-request facts (RequestContext)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from multidict import CIMultiDictProxy, MultiDictProxy

from auth.credentials import CredentialCache, Principal
from auth.policy.keys import Network
from auth.sts.oidc_keys import OidcKeys
from backends.base import Backend
from events.cache import NotificationCache
from events.scan.clamd import ClamdClient
from events.scan.protocol import parse_url
from events.targets.registry import TargetRegistry, TargetSource, configured_specs
from gateway.access import Access, AccessCache, trusted_networks
from gateway.body import RequestBody
from gateway.codec.keys import load_master_key
from gateway.codec.kms import BuiltinKms
from gateway.limits.rate import RateLimiter
from gateway.limits.uploads import UploadSlots
from gateway.meta.base import Bucket, MetaStore
from gateway.meta.outbox import outbox_of
from gateway.replication.cache import ReplicationCache
from gateway.routing import Route
from gateway.settings import Settings
from gateway.values import quick_init
from gateway.website.cache import WebsiteCache
from lifecycle.evaluate import Timing
from lifecycle.expiry import RulesCache, timing_of

if TYPE_CHECKING:
    from events.scan.worker import ScanWorker

Clock = Callable[[], float]


@dataclass
class Services:
    """What every handler may use; one instance per process, under APP_SERVICES."""

    settings: Settings
    meta: MetaStore
    backend: Backend
    credentials: CredentialCache
    # Every rule that depends on time reads this clock, so tests can move it.
    clock: Clock = field(default=time.time)
    # Buckets' lifecycle rules for x-amz-expiration; the lifecycle worker shares it.
    lifecycle_rules: RulesCache = field(init=False)
    # Buckets' policies, ACLs, ownership and public access blocks, as briefly as keys.
    access_cache: AccessCache = field(init=False)
    # Buckets' website configurations, for the website endpoint (gateway/website/).
    website_configs: WebsiteCache = field(init=False)
    trusted_proxies: tuple[Network, ...] = field(init=False)
    # OpenID Connect providers' signing keys (AssumeRoleWithWebIdentity).
    web_identity: OidcKeys = field(init=False)
    # --rate-limit-key/--rate-limit-ip and --max-uploads-per-key (gateway/limits/).
    limiter: RateLimiter | None = None
    upload_slots: UploadSlots | None = None
    # --scan: clamd, and with --scan-mode async the background scans (gateway/app.py).
    scanner: ClamdClient | None = field(init=False)
    scan_worker: ScanWorker | None = field(init=False, default=None)
    # Buckets' notification rules, the event targets, and the dispatcher's wake-up call
    # (set after a commit that queued events: gateway/jobs/event_dispatch.py).
    notifications: NotificationCache = field(init=False)
    targets: TargetRegistry = field(init=False)
    events_queued: asyncio.Event = field(init=False)
    # Buckets' replication rules, and the replication worker's wake-up call
    # (gateway/jobs/replication.py).
    replication_rules: ReplicationCache = field(init=False)
    replication_queued: asyncio.Event = field(init=False)

    def __post_init__(self) -> None:
        scan = self.settings.scan
        timeout = self.settings.scan_timeout
        self.scanner = None if scan is None else ClamdClient(parse_url(scan), timeout=timeout)
        self.web_identity = OidcKeys()
        self.lifecycle_rules = RulesCache(self.meta)
        self.access_cache = AccessCache(self.meta, ttl=self.credentials.ttl)
        self.website_configs = WebsiteCache(self.meta, ttl=self.credentials.ttl)
        self.access_cache.quarantine = scan is not None
        self.trusted_proxies = trusted_networks(self.settings.trusted_proxies)
        self.notifications = NotificationCache(self.meta)
        s = self.settings
        specs = configured_specs(
            s.notify_target,
            secret=s.notify_secret,
            ca_file=s.notify_ca_file,
            timeout=s.notify_timeout,
        )
        try:
            store: TargetSource | None = outbox_of(self.meta)
        except TypeError:  # a MetaStore without an outbox (a test double): settings only
            store = None
        self.targets = TargetRegistry(specs, store, sealer=self.credentials.sealer)
        self.events_queued = asyncio.Event()
        self.replication_rules = ReplicationCache(self.meta)
        self.replication_queued = asyncio.Event()

    @property
    def lifecycle_timing(self) -> Timing:
        return timing_of(self.settings)

    @functools.cached_property
    def master_key(self) -> bytes:
        """The SSE-S3 master key, read (or generated) at the first encrypted request."""
        s = self.settings
        return load_master_key(s.master_key, s.master_key_file, s.data_dir)

    @functools.cached_property
    def master_keys(self) -> tuple[bytes, ...]:
        """The master key, then the previous one while a rotation is under way."""
        s = self.settings
        if s.previous_master_key_file is None:
            return (self.master_key,)
        return self.master_key, load_master_key(None, s.previous_master_key_file, s.data_dir)

    @functools.cached_property
    def kms(self) -> BuiltinKms:
        """The KMS of SSE-KMS: the built-in one, its keys sealed by the master key."""
        return BuiltinKms(
            self.meta, lambda: self.master_keys, self.settings.region, ttl=self.credentials.ttl
        )


@quick_init
@dataclass(frozen=True)
class RequestContext:
    request_id: str
    route: Route
    bucket: str | None
    key: str | None
    # The bucket's record, looked up once by dispatch (None for service-level operations).
    bucket_record: Bucket | None
    method: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    principal: Principal
    access: Access  # more questions for handlers that authorize per key (DeleteObjects)
    body: RequestBody
    services: Services
    now: float

    @property
    def operation(self) -> str:
        return self.route.operation

    @property
    def target_bucket(self) -> Bucket:
        """The addressed bucket, which dispatch has checked exists."""
        assert self.bucket_record is not None, f"{self.operation} needs a bucket"
        return self.bucket_record

    @property
    def target_key(self) -> str:
        assert self.key is not None, f"{self.operation} needs a key"
        return self.key

    def resource(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key is not None else f"/{self.bucket}"
