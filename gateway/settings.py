"""One frozen Settings, from flags, KLOUDVAULT_* environment variables and a TOML file.

Precedence: command-line flag > environment variable > config file (`--config`) > default.
Each field declares its own flag and help text, so the CLI, the environment and the file
can never disagree about what exists. Secrets (`secret=True`) are never printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from events.scan.protocol import parse_url
from events.targets.base import TargetError
from events.targets.registry import TargetSpec, build, parse_entry
from gateway.limits.token_bucket import Rate

DEFAULT_PORT = 7373  # not MinIO's 9000, so both can run side by side
# Objects up to this size live in the version row (gateway/writepath.py); chosen by
# measurement (bench/RESULTS.md, "Small objects inline").
INLINE_THRESHOLD = 64 * 1024


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _opt(help: str, *, secret: bool = False, flag: str | None = None) -> Any:
    return {"help": help, "secret": secret, "flag": flag}


def _backoff(default: float, *, before: str = "", at_most: str = "") -> Any:
    """A retrying job's --X-backoff (seconds `before` its first retry, doubled per attempt)
    or --X-backoff-max (the most seconds between two tries of what it retries, `at_most`):
    the event dispatcher's and the replication worker's."""
    if at_most:
        return field(
            default=default, metadata=_opt(f"seconds between two tries of {at_most} at most")
        )
    return field(default=default, metadata=_opt(f"seconds before {before}; doubles per attempt"))


@dataclass(frozen=True)
class Settings:
    data_dir: str = field(default="./data", metadata=_opt("where local blobs and SQLite live"))
    listen: str = field(
        default=f"127.0.0.1:{DEFAULT_PORT}", metadata=_opt("HOST:PORT to listen on")
    )
    region: str = field(default="us-east-1", metadata=_opt("the region this endpoint serves"))
    domain: str | None = field(
        default=None, metadata=_opt("base domain for virtual-host-style bucket addressing")
    )
    website_listen: str | None = field(
        default=None,
        metadata=_opt(
            "HOST:PORT of the static website endpoint (http): every bucket with a website"
            " configuration, by Host `BUCKET.<website-domain>`, else by path `/BUCKET/KEY`"
        ),
    )
    website_domain: str | None = field(
        default=None,
        metadata=_opt(
            "base domain of website hosts: `BUCKET.DOMAIN` gets website answers, on the S3 port too"
        ),
    )
    trusted_proxies: str | None = field(
        default=None,
        metadata=_opt(
            "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed for"
            " aws:SourceIp (default: none; the socket peer is the client)"
        ),
    )
    workers: int = field(
        default_factory=lambda: available_cpus(),
        metadata=_opt("processes sharing the port (default: one per available CPU)"),
    )
    tls_cert: str | None = field(default=None, metadata=_opt("PEM certificate: serve https"))
    tls_key: str | None = field(default=None, metadata=_opt("PEM private key for --tls-cert"))
    metrics_listen: str | None = field(
        default=None,
        metadata=_opt("HOST:PORT serving Prometheus /metrics over http, apart from the S3 port"),
    )
    metrics_token: str | None = field(
        default=None,
        metadata=_opt(
            "bearer token for /metrics: with it, the S3 port also serves /metrics to"
            " `Authorization: Bearer TOKEN`, and --metrics-listen asks for it too",
            secret=True,
        ),
    )
    root_access_key: str | None = field(
        default=None, metadata=_opt("root access key (else generated on first start)")
    )
    root_secret_key: str | None = field(default=None, metadata=_opt("root secret key", secret=True))
    master_key: str | None = field(
        default=None,
        metadata=_opt(
            "SSE master key, 32 bytes base64 (else --master-key-file, else generated into"
            " the data dir on first start; replicas must share one)",
            secret=True,
        ),
    )
    master_key_file: str | None = field(
        default=None, metadata=_opt("file holding the SSE master key (32 bytes, base64)")
    )
    compression: str = field(
        default="off",
        metadata=_opt(
            "zstd compression of stored objects: off|auto|on (auto skips compressed types"
            " and content whose first 64 KiB does not shrink); a bucket may override it"
        ),
    )
    previous_master_key_file: str | None = field(
        default=None,
        metadata=_opt(
            "the master key being rotated away from: still opens what it sealed until"
            " `admin kms rotate-master` has re-sealed that under the current one"
        ),
    )
    allow_sse_c_over_http: bool = field(
        default=False, metadata=_opt("accept SSE-C customer keys over plain http")
    )
    metadata_url: str | None = field(
        default=None,
        metadata=_opt(
            "sqlite:///path (default: under the data dir) or postgresql://user@host/db"
            " (several replicas; ?pool_min=&pool_max=&statement_cache_size=0 for PgBouncer)",
            secret=True,
        ),
    )
    backend: str = field(default="local", metadata=_opt("where bytes live: local|s3|azure|memory"))
    s3_endpoint: str | None = field(
        default=None, metadata=_opt("--backend s3: the S3 server URL (MinIO, SeaweedFS, AWS)")
    )
    s3_bucket: str = field(
        default="kloudvault", metadata=_opt("--backend s3: the bucket blobs are stored in")
    )
    s3_prefix: str = field(default="", metadata=_opt("--backend s3: key prefix for blobs"))
    s3_region: str = field(default="us-east-1", metadata=_opt("--backend s3: region to sign for"))
    s3_access_key: str | None = field(default=None, metadata=_opt("--backend s3: access key"))
    s3_secret_key: str | None = field(
        default=None, metadata=_opt("--backend s3: secret key", secret=True)
    )
    s3_hash_locally: bool = field(
        default=False,
        metadata=_opt(
            "--backend s3: compute every blob's MD5 here, never taking it from the server's"
            " ETag (by default taken when a probe at start shows the ETags are MD5s)"
        ),
    )
    azure_connection_string: str | None = field(
        default=None, metadata=_opt("--backend azure: storage connection string", secret=True)
    )
    azure_account_url: str | None = field(
        default=None,
        metadata=_opt(
            "--backend azure: account URL (https://ACCOUNT.blob.core.windows.net), with"
            " --azure-account-key, or a SAS in its query, or alone: Entra ID, the token of"
            " azure-identity's DefaultAzureCredential (managed identity, AKS workload"
            " identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, az login),"
            " https only"
        ),
    )
    azure_account_key: str | None = field(
        default=None, metadata=_opt("--backend azure: shared account key", secret=True)
    )
    azure_container: str = field(
        default="kloudvault", metadata=_opt("--backend azure: the container blobs are stored in")
    )
    backend_timeout: float = field(
        default=30.0,
        metadata=_opt(
            "--backend s3|azure: seconds one attempt of a request to the store may wait for"
            " an answer (connecting: at most 5)"
        ),
    )
    backend_attempts: int = field(
        default=3,
        metadata=_opt(
            "--backend s3|azure: attempts per request to the store, with exponential backoff"
            " between them; a dead store fails a request after all of them"
        ),
    )
    gc_interval: float = field(default=60.0, metadata=_opt("seconds between collector runs"))
    gc_grace: float = field(
        default=900.0,
        metadata=_opt("seconds a replaced blob is kept for in-flight reads before deletion"),
    )
    pending_ttl: float = field(
        default=86400.0,
        metadata=_opt("seconds before an unfinished upload's blob counts as abandoned"),
    )
    lifecycle_interval: float = field(
        default=3600.0, metadata=_opt("seconds between lifecycle passes (rules, retention cap)")
    )
    lifecycle_day_seconds: float = field(
        default=86400.0,
        metadata=_opt(
            "length of a lifecycle day in seconds; tests shorten it (no rounding to midnight then)"
        ),
    )
    max_retention_days: int | None = field(
        default=None,
        metadata=_opt(
            "expire every object version older than this many days, whatever the bucket"
            " rules (object lock and legal holds still win)"
        ),
    )
    console_listen: str | None = field(
        default=None,
        metadata=_opt(
            "HOST:PORT serving the web console (its pages and API, and the S3 requests it"
            " sends) apart from --listen, which then serves no console"
        ),
    )
    console_idle_timeout: int = field(
        default=1800,
        metadata=_opt("web console: seconds without a request after which a session ends"),
    )
    console_session_lifetime: int = field(
        default=43200,
        metadata=_opt("web console: seconds after sign-in at which a session ends, however used"),
    )
    console_oidc_issuer: str | None = field(
        default=None,
        metadata=_opt(
            "web console single sign-on: the OpenID Connect provider's issuer URL (registered"
            " with IAM CreateOpenIDConnectProvider in the account of --console-oidc-role-arn)"
        ),
    )
    console_oidc_client_id: str | None = field(
        default=None, metadata=_opt("web console single sign-on: the console's client id")
    )
    console_oidc_client_secret: str | None = field(
        default=None,
        metadata=_opt(
            "web console single sign-on: the client's secret (none: a public client, PKCE only)",
            secret=True,
        ),
    )
    console_oidc_role_arn: str | None = field(
        default=None,
        metadata=_opt(
            "web console single sign-on: the role a signed-in user assumes"
            " (AssumeRoleWithWebIdentity; its trust policy decides who may)"
        ),
    )
    max_object_size: int = field(
        default=5 * 1024**4,
        metadata=_opt(
            "largest object in bytes (AWS: 5 TiB), checked at CompleteMultipartUpload; a single"
            " PUT or POST is also capped at 5 GiB, and a part at the smaller of the two"
        ),
    )
    inline_threshold: int = field(
        default=INLINE_THRESHOLD,
        metadata=_opt(
            "objects of at most this many bytes (PUT, POST, copy) are kept in the metadata"
            " store with their version instead of as a backend blob: one commit per PUT, one"
            " read per GET; 0 turns it off (most 1 MiB)"
        ),
    )
    max_open_uploads_per_object: int = field(
        default=10000,
        metadata=_opt(
            "multipart uploads in progress for one object key; past it CreateMultipartUpload"
            " is refused until some are completed or aborted"
        ),
    )
    header_timeout: float = field(
        default=10.0,
        metadata=_opt(
            "seconds a new connection may take to send its first complete request head;"
            " later heads on a kept-alive connection are bounded by --keepalive-timeout"
        ),
    )
    body_timeout: float = field(
        default=60.0,
        metadata=_opt(
            "seconds a request body may go without a byte before it fails with RequestTimeout"
        ),
    )
    keepalive_timeout: float = field(
        default=75.0,
        metadata=_opt("seconds an idle kept-alive connection stays open between requests"),
    )
    max_connections: int = field(
        default=10000,
        metadata=_opt("open client connections per process; more are closed at once"),
    )
    max_connections_per_address: int = field(
        default=1000,
        metadata=_opt("open client connections per source address, per process"),
    )
    max_presigned_expiry: int = field(
        default=604800,
        metadata=_opt(
            "longest lifetime of a presigned URL in seconds (at most SigV4's week); SigV2 URLs,"
            " whose Expires is a date, may not expire later than this from now"
        ),
    )
    scan: str | None = field(
        default=None,
        metadata=_opt(
            "malware scan of every new object by clamd: clamd://HOST:PORT or"
            " clamd:///path/to/socket (set clamd's StreamMaxLength to the largest object)"
        ),
    )
    scan_mode: str = field(
        default="inline",
        metadata=_opt(
            "--scan: inline (an infected upload is refused with 403, nothing stored) or async"
            " (stored, scanned right after; an infected object is quarantined)"
        ),
    )
    scan_fail: str = field(
        default="closed",
        metadata=_opt(
            "--scan: when clamd is down or cannot scan an object, open (accept it unscanned)"
            " or closed (inline: refuse it; async: quarantine what clamd refused to scan)"
        ),
    )
    scan_timeout: float = field(
        default=60.0, metadata=_opt("--scan: seconds clamd may take per step (and to answer)")
    )
    scan_concurrency: int = field(
        default=4, metadata=_opt("--scan-mode async: objects scanned at once per process")
    )
    notify_target: tuple[str, ...] = field(
        default=(),
        metadata=_opt(
            "NAME=URL: an event notification target (repeatable; env and file: a list, the"
            " env var space-separated). http(s):// webhook, nats://, amqp://, mqtt://,"
            " redis://; ARN arn:kloudvault:sqs:REGION:ACCOUNT:NAME names it",
            secret=True,
        ),
    )
    notify_secret: str | None = field(
        default=None,
        metadata=_opt(
            "key of the webhooks' X-KloudVault-Signature (HMAC-SHA256 of the body)", secret=True
        ),
    )
    notify_ca_file: str | None = field(
        default=None, metadata=_opt("PEM CA bundle the https webhooks are verified against")
    )
    notify_timeout: float = field(
        default=10.0, metadata=_opt("seconds a target gets to acknowledge one event")
    )
    notify_attempts: int = field(
        default=10,
        metadata=_opt("delivery attempts before an event goes to the dead-letter list"),
    )
    notify_backoff: float = _backoff(1.0, before="an event's first retry")
    notify_backoff_max: float = _backoff(3600.0, at_most="an event")
    replication_attempts: int = field(
        default=100,
        metadata=_opt("copy attempts before replication gives a change up (status FAILED)"),
    )
    replication_backoff: float = _backoff(1.0, before="a replication retry")
    replication_backoff_max: float = _backoff(300.0, at_most="a replication")
    log_level: str = field(default="INFO", metadata=_opt("DEBUG, INFO, WARNING, ERROR"))
    log_format: str = field(
        default="text", metadata=_opt("text or json (one object per line, with the request id)")
    )
    access_log: bool = field(default=False, metadata=_opt("log every request"))
    audit_log: str | None = field(
        default=None,
        metadata=_opt("PATH or - (stdout): one JSON record per request, denied ones included"),
    )
    pg_pool_min: int | None = field(
        default=None, metadata=_opt("PostgreSQL connections kept open per process (default 2)")
    )
    pg_pool_max: int | None = field(
        default=None, metadata=_opt("PostgreSQL connections at most per process (default 10)")
    )
    pg_session_url: str | None = field(
        default=None,
        metadata=_opt(
            "PostgreSQL URL for the leader lock's own session when --metadata-url goes"
            " through PgBouncer in transaction mode (default: --metadata-url)",
            secret=True,
        ),
    )
    redis_url: str | None = field(
        default=None,
        metadata=_opt(
            "redis://host:6379/0: cache shared by the replicas (keys, buckets, object"
            " heads); ?prefix=NAME to share one Redis between deployments",
            secret=True,
        ),
    )
    redis_timeout: float = field(
        default=0.5, metadata=_opt("seconds before a Redis call counts as failed")
    )
    rate_limit_key: str | None = field(
        default=None,
        metadata=_opt(
            "RPS[:BURST]: requests per second per access key, answered 503 SlowDown beyond"
            " (one bucket for all replicas with --redis-url, else per process)"
        ),
    )
    rate_limit_ip: str | None = field(
        default=None,
        metadata=_opt("RPS[:BURST]: requests per second per source IP, as --rate-limit-key"),
    )
    max_uploads_per_key: int | None = field(
        default=None,
        metadata=_opt("uploads (PutObject, UploadPart) one access key runs at once, per process"),
    )
    otlp_endpoint: str | None = field(
        default=None,
        metadata=_opt(
            "OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces): a span per"
            " request, its metadata and backend calls (default: no tracing)"
        ),
    )

    @property
    def host(self) -> str:
        host, _, _ = self.listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """--metrics-listen as (host, port)."""
        return _address(self.metrics_listen)

    @property
    def website_address(self) -> tuple[str, int] | None:
        """--website-listen as (host, port)."""
        return _address(self.website_listen)

    @property
    def console_address(self) -> tuple[str, int] | None:
        """--console-listen as (host, port)."""
        return _address(self.console_listen)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def sqlite_path(self) -> str:
        url = self.metadata_url
        if url and url.startswith("sqlite:///"):
            return url[len("sqlite:///") :]
        return str(Path(self.data_dir) / "meta.sqlite3")

    @property
    def blob_dir(self) -> str:
        return str(Path(self.data_dir) / "blobs")

    def redacted(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = "***" if f.metadata.get("secret") and value else value
        return out


def _address(listen: str | None) -> tuple[str, int] | None:
    """A HOST:PORT flag as (host, port); an empty or bracketed IPv6 host as such."""
    if listen is None:
        return None
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def env_name(name: str) -> str:
    return "KLOUDVAULT_" + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, names: Collection[str] | None = None) -> None:
    """One flag per Settings field (only those in `names` if given) and `--config`; defaults
    stay None (or the parser's `argument_default`) so precedence can be resolved."""
    parser.add_argument("--config", help="TOML file with settings (keys as field names)")
    for f in fields(Settings):
        if names is not None and f.name not in names:
            continue
        kind = _field_type(f)
        help_text = f"{f.metadata['help']} (env {env_name(f.name)})"
        if kind is bool:
            parser.add_argument(
                flag_name(f.name), dest=f.name, action="store_const", const=True, help=help_text
            )
        elif kind is tuple:
            parser.add_argument(flag_name(f.name), dest=f.name, action="append", help=help_text)
        else:
            parser.add_argument(flag_name(f.name), dest=f.name, type=kind, help=help_text)


def _field_type(f: dataclasses.Field[Any]) -> type:
    text = str(f.type)
    if text.startswith("tuple"):
        return tuple
    if "bool" in text:
        return bool
    if "int" in text:
        return int
    if "float" in text:
        return float
    return str


def _convert(kind: type, raw: Any, name: str) -> Any:
    if kind is bool and isinstance(raw, str):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is tuple:  # a list: the env var's words, or the file's array
        return tuple(raw.split() if isinstance(raw, str) else map(str, raw))
    try:
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"invalid value for {name}: {raw!r}") from exc


def load(
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] | None = None,
    argv_config: str | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    config_path = argv_config or (getattr(args, "config", None) if args else None)
    config_path = config_path or environ.get("KLOUDVAULT_CONFIG")
    from_file: dict[str, Any] = {}
    if config_path:
        with open(config_path, "rb") as fh:
            from_file = tomllib.load(fh)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        kind = _field_type(f)
        cli = getattr(args, f.name, None) if args is not None else None
        if cli is not None:
            values[f.name] = tuple(cli) if kind is tuple else cli
        elif env_name(f.name) in environ:
            values[f.name] = _convert(kind, environ[env_name(f.name)], env_name(f.name))
        elif f.name in from_file:
            values[f.name] = _convert(kind, from_file[f.name], f.name)
    unknown = set(from_file) - {f.name for f in fields(Settings)}
    if unknown:
        raise SystemExit(f"unknown settings in {config_path}: {', '.join(sorted(unknown))}")
    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    problems: list[str] = []
    try:
        if not 0 <= settings.port <= 65535:
            problems.append("--listen port out of range")
    except ValueError:
        problems.append("--listen must be HOST:PORT")
    if settings.metrics_listen is not None:
        host, _, port = settings.metrics_listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            problems.append("--metrics-listen must be HOST:PORT")
        elif settings.metrics_listen == settings.listen:
            problems.append("--metrics-listen must differ from --listen")
    if settings.website_listen is not None:
        host, _, port = settings.website_listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            problems.append("--website-listen must be HOST:PORT")
        elif settings.website_listen in (settings.listen, settings.metrics_listen):
            problems.append("--website-listen must differ from --listen and --metrics-listen")
    if settings.console_listen is not None:
        host, _, port = settings.console_listen.rpartition(":")
        others = (settings.listen, settings.metrics_listen, settings.website_listen)
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            problems.append("--console-listen must be HOST:PORT")
        elif settings.console_listen in others:
            problems.append("--console-listen must differ from the other listen addresses")
    if settings.website_domain is not None and (
        not settings.website_domain.strip(".") or settings.website_domain == settings.domain
    ):
        problems.append("--website-domain must be a domain other than --domain")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        problems.append("--tls-cert and --tls-key go together")
    if bool(settings.root_access_key) != bool(settings.root_secret_key):
        problems.append("KLOUDVAULT_ROOT_ACCESS_KEY and KLOUDVAULT_ROOT_SECRET_KEY go together")
    if settings.backend not in ("local", "memory", "s3", "azure"):
        problems.append(f"unknown --backend {settings.backend!r} (local, s3, azure, memory)")
    if settings.backend == "s3" and not (
        settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
    ):
        problems.append("--backend s3 needs --s3-endpoint, --s3-access-key and --s3-secret-key")
    if settings.backend == "azure":
        problems += _azure_problems(settings)
    if settings.backend_timeout <= 0 or settings.backend_attempts < 1:
        problems.append("--backend-timeout must be positive and --backend-attempts at least 1")
    if settings.workers < 1:
        problems.append("--workers must be at least 1")
    if settings.compression not in ("off", "auto", "on"):
        problems.append("--compression must be off, auto or on")
    if settings.lifecycle_interval <= 0 or settings.lifecycle_day_seconds <= 0:
        problems.append("--lifecycle-interval and --lifecycle-day-seconds must be positive")
    if settings.max_retention_days is not None and settings.max_retention_days < 1:
        problems.append("--max-retention-days must be at least 1")
    if not 1 <= settings.console_idle_timeout <= settings.console_session_lifetime:
        problems.append("--console-idle-timeout must be between 1 and --console-session-lifetime")
    sso = (
        settings.console_oidc_issuer,
        settings.console_oidc_client_id,
        settings.console_oidc_role_arn,
    )
    if any(sso) and not all(sso):
        problems.append(
            "--console-oidc-issuer, --console-oidc-client-id and --console-oidc-role-arn"
            " go together"
        )
    if settings.max_open_uploads_per_object < 1:
        problems.append("--max-open-uploads-per-object must be at least 1")
    if settings.max_object_size < 1:
        problems.append("--max-object-size must be at least 1")
    if not 0 <= settings.inline_threshold <= 1024 * 1024:
        problems.append("--inline-threshold must be from 0 to 1048576 bytes")
    if min(settings.header_timeout, settings.body_timeout, settings.keepalive_timeout) <= 0:
        problems.append("--header-timeout, --body-timeout and --keepalive-timeout must be positive")
    if not 1 <= settings.max_connections_per_address <= settings.max_connections:
        problems.append("--max-connections-per-address must be from 1 to --max-connections")
    if not 1 <= settings.max_presigned_expiry <= 604800:
        problems.append("--max-presigned-expiry must be from 1 to 604800 seconds")
    for name in ("rate_limit_key", "rate_limit_ip"):
        text = getattr(settings, name)
        if text is not None:
            try:
                Rate.parse(text)
            except ValueError as exc:
                problems.append(f"{flag_name(name)}: {exc}")
    if settings.max_uploads_per_key is not None and settings.max_uploads_per_key < 1:
        problems.append("--max-uploads-per-key must be at least 1")
    problems.extend(_scan_problems(settings))
    problems.extend(_notify_problems(settings))
    if settings.replication_attempts < 1 or settings.replication_backoff <= 0:
        raise ValueError("--replication-attempts must be >= 1 and --replication-backoff > 0")
    if settings.notify_attempts < 1 or settings.notify_timeout <= 0:
        problems.append("--notify-attempts must be at least 1, --notify-timeout positive")
    if settings.log_format not in ("text", "json"):
        problems.append("--log-format must be text or json")
    if problems:
        raise SystemExit("; ".join(problems))


def _azure_problems(settings: Settings) -> list[str]:
    """--backend azure: a connection string, or an account URL with a key, a SAS in its
    query, or nothing (Entra ID: bearer tokens, which go over https only)."""
    url = settings.azure_account_url
    if bool(settings.azure_connection_string) == bool(url):
        return [
            "--backend azure needs --azure-connection-string or --azure-account-url"
            " (with --azure-account-key, a SAS in its query, or alone for Entra ID), one of them"
        ]
    if url and not settings.azure_account_key and not urlsplit(url).query:
        if urlsplit(url).scheme.lower() != "https":
            return ["--azure-account-url without --azure-account-key (Entra ID) must be https"]
    return []


def _notify_problems(settings: Settings) -> list[str]:
    """Each --notify-target read as its target will read it, so that a bad URL or a
    misspelt ?option stops the start instead of dead-lettering every event later (as
    `admin target add` refuses them). No message echoes a URL: it may hold a password."""
    problems = []
    for entry in settings.notify_target:
        name = entry.partition("=")[0]
        try:
            build(TargetSpec(*parse_entry(entry)))
        except ValueError as exc:  # TargetURLError too: its text holds no secret
            detail = exc if isinstance(exc, TargetError) else "want NAME=URL, a known scheme"
            problems.append(f"--notify-target {name or '?'}: {detail}")
        except TargetError:  # its client library is missing here: found on first use
            pass
    return problems


def _scan_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    if settings.scan is not None:
        try:
            parse_url(settings.scan)
        except ValueError as exc:
            problems.append(str(exc))
    if settings.scan_mode not in ("inline", "async"):
        problems.append("--scan-mode must be inline or async")
    if settings.scan_fail not in ("open", "closed"):
        problems.append("--scan-fail must be open or closed")
    if settings.scan_timeout <= 0 or settings.scan_concurrency < 1:
        problems.append("--scan-timeout must be positive and --scan-concurrency at least 1")
    return problems


def from_argv(argv: Sequence[str]) -> Settings:
    """Settings from a bare argument list (for tests and embedding)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return load(parser.parse_args(list(argv)))
