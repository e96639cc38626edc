"""`kloudvault serve | admin ...`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import pickle
import resource
import shutil
import signal
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from urllib.parse import urlsplit

from aiohttp import web

from auth.credentials import (
    ROOT_USER,
    account_id,
    canonical_id,
    create_access_key,
    ensure_root,
    reseal_secrets,
)
from auth.sealed import SecretSealer, UnsealError
from backends.base import BackendError
from events.admin import add_events_commands, add_target_commands, run_events, run_target
from events.targets.sealing import reseal_event_targets
from gateway.app import (
    build_app,
    build_website_app,
    close_services,
    import_backend,
    is_shared_metadata,
    make_backend,
    make_metastore,
    open_services,
    secret_sealer,
)
from gateway.codec.keys import load_master_key
from gateway.codec.kms import BuiltinKms
from gateway.compression_admin import add_compression_commands, run_compression
from gateway.connections import ConnectionGuard, ConnectionLimits, GuardedSite
from gateway.data_dir import make_private
from gateway.iam_admin import add_iam_commands, run_iam
from gateway.jobs.scrub import scrub
from gateway.kms_admin import add_kms_commands, run_kms
from gateway.limits.quota_admin import add_quota_commands, run_quota
from gateway.logs import configure_logging
from gateway.meta.base import MetaStore
from gateway.meta.outbox import outbox_of
from gateway.metrics.exposition import metrics_app
from gateway.metrics.series import MULTIPROC_ENV
from gateway.replication.admin import add_replication_commands, run_replication
from gateway.settings import Settings, add_arguments, load
from gateway.sharing.admin import add_share_commands, run_share
from gateway.supervisor import exec_supervisor
from lifecycle.expiry import timing_of
from lifecycle.worker import LifecycleWorker

log = logging.getLogger("kloudvault")


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return
    uvloop.install()


# Objects the cyclic collector's youngest generation gathers before it runs. CPython's
# default, 700, runs it every few requests (each makes hundreds of short-lived
# containers); 50,000 measured 4-8% more 4 KiB GETs per second and a p99 of 15 ms instead
# of 18-34 (bench/RESULTS.md, "The cyclic collector"). What a request leaves in cycles
# is small: a higher threshold holds a few MiB more until the next collection.
GC_YOUNG_THRESHOLD = 50_000


def tune_collector() -> None:
    """Once the worker is serving: leave out of every later collection what exists now
    (modules, the app, its services: they live as long as the process, and a full
    collection walked them all), and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def raise_open_files_limit() -> None:
    """Raise the soft limit on open descriptors to the hard one, as Go programs and nginx
    do: a request in flight can hold several (the client's socket, a backend connection, a
    relay's pipe and duplicate, a file), and 400 clients need more than the 1024 many
    systems start a service with."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):  # above the kernel's nr_open: keep what we have
            pass


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.tls_cert or not settings.tls_key:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(settings.tls_cert, settings.tls_key)
    return ctx


async def _serve(settings: Settings, *, primary: bool) -> None:
    services = await open_services(settings)
    # Several worker processes share the port; one runs the background collector.
    app = build_app(services, run_collector=primary)
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=settings.keepalive_timeout,
    )
    await runner.setup()
    guard = ConnectionGuard(
        ConnectionLimits(
            header_timeout=settings.header_timeout,
            max_connections=settings.max_connections,
            max_connections_per_address=settings.max_connections_per_address,
        )
    )
    site = GuardedSite(
        runner,
        guard,
        host=settings.host,
        port=settings.port,
        ssl_context=_ssl_context(settings),
        reuse_port=settings.workers > 1,
        backlog=1024,
    )
    await site.start()
    if (console := settings.console_address) is not None:
        # The same application on a second listener; only there does it answer as the
        # console (gateway/console/paths.py console_here).
        await GuardedSite(
            runner,
            guard,
            host=console[0],
            port=console[1],
            ssl_context=_ssl_context(settings),
            reuse_port=settings.workers > 1,
            backlog=1024,
        ).start()
    metrics_runner = await _serve_plain(
        settings.metrics_address, lambda: metrics_app(services), settings
    )
    website_runner = await _serve_plain(
        settings.website_address, lambda: build_website_app(services), settings
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tune_collector()
    try:
        await stop.wait()
    finally:
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        if website_runner is not None:
            await website_runner.cleanup()
        await runner.cleanup()
        await close_services(services)


async def _serve_plain(
    address: tuple[str, int] | None, app: Callable[[], web.Application], settings: Settings
) -> web.AppRunner | None:
    """`app()` on a plain http listener of its own at `address` (None: no listener),
    shared by the workers: --metrics-listen's /metrics, --website-listen's endpoint."""
    if address is None:
        return None
    runner = web.AppRunner(app(), access_log=None, handle_signals=False)
    await runner.setup()
    host, port = address
    await web.TCPSite(runner, host, port, reuse_port=settings.workers > 1).start()
    return runner


def run_worker(settings: Settings, primary: bool) -> None:
    """One serving process (`--workers 1`, or each of gateway/supervisor.py's)."""
    configure_logging(settings.log_level, settings.log_format)
    raise_open_files_limit()
    _install_uvloop()
    asyncio.run(_serve(settings, primary=primary))


async def _bootstrap(settings: Settings) -> tuple[str, str, bool]:
    meta = make_metastore(settings)
    await meta.open()
    try:
        sealer = secret_sealer(settings)
        try:
            resealed = await reseal_secrets(meta, sealer)
        except UnsealError as error:
            raise SystemExit(
                f"{error}: start with the master key that sealed them (--master-key-file)"
            ) from None
        if resealed:
            log.info("sealed %d access-key secret(s) stored in the clear", resealed)
        try:
            targets = await reseal_event_targets(outbox_of(meta), sealer)
        except UnsealError as error:
            raise SystemExit(
                f"{error}: start with the master key that sealed it (--master-key-file)"
            ) from None
        if targets:
            log.info("sealed %d event target(s) stored in the clear", targets)
        if not sealer.sealing:
            log.warning(
                "access-key secrets are stored unsealed: replicas sharing PostgreSQL need one"
                " master key (--master-key-file or KLOUDVAULT_MASTER_KEY) to seal them"
            )
        key, created = await ensure_root(
            meta, settings.root_access_key, settings.root_secret_key, now=time.time(),
            sealer=sealer,
        )  # fmt: skip
        return key.access_key, key.secret_key, created
    finally:
        await meta.close()


def _where(url: str) -> str:
    """scheme://host[:port]/path of a URL: no user info, no query (a SAS token is a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _backend_line(settings: Settings) -> list[str]:
    """Where a remote backend stores blobs, for the banner; never a credential."""
    if settings.backend == "s3" and settings.s3_endpoint:
        where = f"bucket {settings.s3_bucket!r} at {_where(settings.s3_endpoint)}"
        if settings.s3_prefix:
            where += f", key prefix {settings.s3_prefix!r}"
        return [f"  blobs:      {where}"]
    if settings.backend == "azure":
        account = _where(settings.azure_account_url) if settings.azure_account_url else None
        where = f"container {settings.azure_container!r}"
        where += f" at {account}" if account else " (account from the connection string)"
        return [f"  blobs:      {where}"]
    return []


def _website_line(settings: Settings) -> list[str]:
    address = settings.website_address
    if address is None:
        return []
    host, port = address
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    host = f"[{host}]" if ":" in host else host
    if settings.website_domain:
        return [f"  website:    http://BUCKET.{settings.website_domain}:{port}/ (on {host})"]
    return [f"  website:    http://{host}:{port}/BUCKET/"]


def _console_line(settings: Settings) -> list[str]:
    address = settings.console_address
    if address is None:
        return [
            f"  console:    {settings.scheme}://{_shown(settings.host)}:{settings.port}/console/"
        ]
    return [f"  console:    {settings.scheme}://{_shown(address[0])}:{address[1]}/console/"]


def _shown(host: str) -> str:
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"[{host}]" if ":" in host else host


def _banner(settings: Settings, access_key: str, secret_key: str, created: bool) -> str:
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    endpoint = f"{settings.scheme}://{host}:{settings.port}"
    state = "created" if created else "existing"
    metadata = "postgresql" if is_shared_metadata(settings) else "sqlite"
    metadata += " + redis cache" if settings.redis_url else ""
    return "\n".join(
        [
            f"KloudVault listening on {endpoint}",
            f"  data dir:   {settings.data_dir}  (backend {settings.backend}, metadata {metadata})",
            *_backend_line(settings),
            *_website_line(settings),
            *_console_line(settings),
            f"  root keys ({state}):",
            f"    AWS_ACCESS_KEY_ID={access_key}",
            f"    AWS_SECRET_ACCESS_KEY={secret_key}",
            "  try:",
            f"    AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY={secret_key} "
            f"aws --endpoint-url {endpoint} s3 ls",
        ]
    )


def cmd_serve(settings: Settings) -> int:
    import_backend(settings.backend)  # a missing SDK fails here, not after the banner
    access_key, secret_key, created = asyncio.run(_bootstrap(settings))
    print(_banner(settings, access_key, secret_key, created), flush=True)
    if settings.workers == 1:
        run_worker(settings, primary=True)
        return 0
    # The workers' metrics, added up at each scrape (gateway/metrics/exposition.py): a fresh
    # directory, so that no series of an earlier run is counted again. Set before the
    # workers start: prometheus-client picks its storage when a process imports it.
    metrics_dir = tempfile.mkdtemp(prefix="kloudvault-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        exec_supervisor(pickle.dumps(settings), settings.workers, metrics_dir)
    except OSError:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        raise
    return 0  # not reached: the supervisor took over this process


async def _admin(args: argparse.Namespace, settings: Settings) -> int:
    if args.admin_what == "scrub":
        return await _scrub(args, settings)
    meta = make_metastore(settings)
    await meta.open()
    try:
        if args.admin_what == "kms":
            kms = BuiltinKms(meta, lambda: _master_keys(settings), settings.region)
            return await run_kms(kms, args)
        if args.admin_what == "compression":
            return await run_compression(meta, args)
        return await _admin_with(meta, args, secret_sealer(settings))
    finally:
        await meta.close()


async def _admin_with(meta: MetaStore, args: argparse.Namespace, sealer: SecretSealer) -> int:
    now = time.time()
    if args.admin_what == "iam":
        return await run_iam(meta, args, sealer)
    if args.admin_what == "quota":
        return await run_quota(meta, args)
    if args.admin_what == "target":
        return await run_target(outbox_of(meta), args, sealer)
    if args.admin_what == "events":
        return await run_events(outbox_of(meta), args)
    if args.admin_what == "replication":
        return await run_replication(meta, outbox_of(meta), sealer, args)
    if args.admin_what == "user":
        if args.action == "create":
            try:
                await meta.create_user(args.name, now=now)
            except KeyError:
                print(f"user {args.name} exists", file=sys.stderr)
                return 1
            key = await create_access_key(meta, sealer, args.name, now=now)
            email = getattr(args, "email", None)  # SUPPRESS default: absent when not given
            if email:
                await meta.set_user_email(args.name, email)
            print(f"user:       {args.name}")
            print(f"access key: {key.access_key}")
            print(f"secret key: {key.secret_key}   (shown once)")
            return 0
        if args.action == "list":
            for user in await meta.list_users():
                keys = await meta.list_access_keys(user.name)
                root = " (root)" if user.is_root else ""
                print(f"{user.name}{root}\t{account_id(user.name)}\t{len(keys)} key(s)")
            return 0
        if args.action in ("show", "set-email"):
            found = await meta.get_user(args.name)
            if found is None:
                print(f"no such user {args.name}", file=sys.stderr)
                return 1
            if args.action == "set-email":
                await meta.set_user_email(args.name, args.email)
                found = await meta.get_user(args.name)
            print(f"account:      {args.name}")
            print(f"account id:   {account_id(args.name)}")
            print(f"canonical id: {canonical_id(args.name)}")
            print(f"e-mail:       {(found.email if found else None) or '-'}")
            return 0
        if args.action == "delete":
            if args.name == ROOT_USER:
                print("the root user cannot be deleted", file=sys.stderr)
                return 1
            if not await meta.delete_user(args.name):
                print(f"no such user {args.name}", file=sys.stderr)
                return 1
            print(f"deleted user {args.name}")
            return 0
    if args.admin_what == "key":
        if args.action == "create":
            try:
                key = await create_access_key(meta, sealer, args.user, now=now)
            except KeyError:
                print(f"no such user {args.user}", file=sys.stderr)
                return 1
            print(f"access key: {key.access_key}")
            print(f"secret key: {key.secret_key}   (shown once)")
            return 0
        if args.action == "list":
            for key in await meta.list_access_keys(args.user):
                print(key.access_key)
            return 0
        if args.action == "delete":
            if not await meta.delete_access_key(args.access_key):
                print(f"no such key {args.access_key}", file=sys.stderr)
                return 1
            print(f"deleted key {args.access_key}")
            return 0
    raise AssertionError("argparse admits no other command")


def _master_keys(settings: Settings) -> tuple[bytes, ...]:
    """The master key, then --previous-master-key-file's (as Services.master_keys)."""
    s = settings
    current = load_master_key(s.master_key, s.master_key_file, s.data_dir)
    if s.previous_master_key_file is None:
        return (current,)
    return current, load_master_key(None, s.previous_master_key_file, s.data_dir)


async def _scrub(args: argparse.Namespace, settings: Settings) -> int:
    """`admin scrub` (gateway/jobs/scrub.py). Exit status 0: nothing missing (orphans are only
    reported or deleted); 1: referenced blobs are missing; 2: the scrub could not finish."""
    configure_logging(settings.log_level, settings.log_format)
    import_backend(settings.backend)  # a missing SDK fails before anything is open
    meta = make_metastore(settings)
    await meta.open()
    backend = make_backend(settings)
    try:
        report = await scrub(
            meta,
            backend,
            delete_orphans=args.delete_orphans,
            orphan_grace=args.orphan_grace,
            clock=time.time,
        )
    except BackendError as exc:  # the message never holds credentials (backends/base.py)
        print(f"scrub: backend {backend.name} failed: {exc}", file=sys.stderr)
        return 2
    finally:
        await backend.close()
        await meta.close()
    for line in report.lines():
        print(line)
    return 0 if report.healthy else 1


# The settings each command reads, as Settings field names or name prefixes; `serve` takes
# them all. `--help` of a command lists only these, and `--config` always.
_METADATA = ("data_dir", "metadata_url", "pg_", "redis_")  # the store, its pool, its cache
_BACKEND = ("backend", "s3_", "azure_")  # "backend" also covers --backend-timeout/-attempts
_LOGGING = ("log_level", "log_format")
_LIFECYCLE = ("lifecycle_day_seconds", "max_retention_days")
_KMS = (
    "master_key",
    "previous_master_key",
    "region",
)  # the master key seals the KMS keys; the region is in ARNs

_Subparsers = argparse._SubParsersAction  # argparse's public API has no name for it


def _settings(*prefixes: str) -> frozenset[str]:
    return frozenset(f.name for f in fields(Settings) if f.name.startswith(prefixes))


def _command(
    sub: _Subparsers[argparse.ArgumentParser], name: str, names: frozenset[str], help: str
) -> argparse.ArgumentParser:
    """A leaf command that also takes its settings flags after its own name and arguments.
    They are the group's flags again with SUPPRESS defaults: argparse copies every
    attribute of a subcommand's namespace onto its parent's, and a None default here would
    overwrite a flag given before the subcommand (`admin --data-dir D user list`)."""
    parser = sub.add_parser(name, help=help, argument_default=argparse.SUPPRESS)
    add_arguments(parser, names)
    return parser


def _add_admin(sub: _Subparsers[argparse.ArgumentParser]) -> None:
    store = _settings(*_METADATA)
    admin = sub.add_parser(
        "admin",
        help="manage users and keys, check blobs (works while serving)",
        description="Manage users and keys, check blobs. Give the same --data-dir or"
        " --metadata-url as `serve`, before or after the subcommand; works while it runs.",
    )
    add_arguments(admin, _settings(*_METADATA, *_BACKEND, *_LOGGING))
    admin_sub = admin.add_subparsers(dest="admin_what", required=True)

    user = admin_sub.add_parser("user", help="create, list and delete users")
    users = user.add_subparsers(dest="action", required=True)
    user_create = _command(users, "create", store, "an account and its first access key")
    user_create.add_argument("name")
    user_create.add_argument("--email", help="for ACL grants by e-mail address")
    _command(users, "list", store, "every account, its ids and its number of keys")
    _command(users, "show", store, "an account's ids (ARNs, ACL grants)").add_argument("name")
    set_email = _command(users, "set-email", store, "the e-mail address ACL grants name")
    set_email.add_argument("name")
    set_email.add_argument("email")
    _command(users, "delete", store, "a user and its keys").add_argument("name")

    key = admin_sub.add_parser("key", help="create, list and delete a user's access keys")
    keys = key.add_subparsers(dest="action", required=True)
    _command(keys, "create", store, "another access key for a user").add_argument("user")
    _command(keys, "list", store, "a user's access keys").add_argument("user")
    key_delete = _command(keys, "delete", store, "one access key")
    key_delete.add_argument("user")
    key_delete.add_argument("access_key")

    iam = admin_sub.add_parser(
        "iam",
        help="IAM users, their keys, groups and policies of an account",
        description="IAM users, their keys, groups and policies inside an account"
        " (--account, default root): what the IAM API does, from the shell.",
    )
    iam_commands = iam.add_subparsers(dest="iam_command", required=True, metavar="COMMAND")
    add_iam_commands(lambda name, help: _command(iam_commands, name, store, help))

    quota = admin_sub.add_parser("quota", help="bucket and account quotas (bytes, objects)")
    quota_commands = quota.add_subparsers(dest="quota_action", required=True, metavar="COMMAND")
    add_quota_commands(lambda name, help: _command(quota_commands, name, store, help))

    kms_store = _settings(*_METADATA, *_KMS)
    kms = admin_sub.add_parser(
        "kms",
        help="the built-in KMS of SSE-KMS: keys, their state, rotation",
        description="Keys of the built-in KMS (SSE-KMS). Give the same --master-key or"
        " --master-key-file as `serve` (default: the data dir's master.key).",
    )
    kms_commands = kms.add_subparsers(dest="kms_action", required=True, metavar="COMMAND")
    add_kms_commands(lambda name, help: _command(kms_commands, name, kms_store, help))

    compression = admin_sub.add_parser(
        "compression", help="a bucket's zstd compression, and the space it saves"
    )
    compression_commands = compression.add_subparsers(
        dest="compression_action", required=True, metavar="COMMAND"
    )
    add_compression_commands(lambda name, help: _command(compression_commands, name, store, help))

    target = admin_sub.add_parser("target", help="event notification targets, for every replica")
    targets = target.add_subparsers(dest="target_action", required=True, metavar="COMMAND")
    add_target_commands(lambda name, help: _command(targets, name, store, help))
    replication = admin_sub.add_parser(
        "replication", help="bucket replication: targets, resync, pending and failed work"
    )
    replication_sub = replication.add_subparsers(
        dest="replication_action", required=True, metavar="COMMAND"
    )
    # The master key seals a target's secret.
    sealing = _settings(*_METADATA, "master_key", "previous_master_key")

    def replication_group(name: str, help: str) -> Callable[[str, str], argparse.ArgumentParser]:
        group = replication_sub.add_parser(name, help=help)
        commands = group.add_subparsers(
            dest=f"replication_{name}_action", required=True, metavar="COMMAND"
        )
        return lambda leaf, leaf_help: _command(commands, leaf, sealing, leaf_help)

    add_replication_commands(
        lambda name, help: _command(replication_sub, name, sealing, help), replication_group
    )
    events = admin_sub.add_parser("events", help="the event outbox and its dead-letter list")
    events_sub = events.add_subparsers(dest="events_action", required=True, metavar="COMMAND")
    add_events_commands(lambda name, help: _command(events_sub, name, store, help))

    scrub_parser = _command(
        admin_sub,
        "scrub",
        _settings(*_METADATA, *_BACKEND, *_LOGGING),
        "check that every referenced blob exists and find orphan blobs (exit 1 if missing)",
    )
    scrub_parser.add_argument(
        "--delete-orphans",
        action="store_true",
        default=False,
        help="delete orphan blobs older than --orphan-grace (never when blobs are missing)",
    )
    scrub_parser.add_argument(
        "--orphan-grace",
        type=float,
        default=86400.0,
        help="seconds an orphan must have existed before --delete-orphans removes it",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kloudvault", description="S3-compatible gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    add_arguments(sub.add_parser("serve", help="run the gateway"))
    _add_admin(sub)
    store = _settings(*_METADATA)
    share = sub.add_parser("share", help="revocable share links to objects (works while serving)")
    add_arguments(share, store)
    shares = share.add_subparsers(dest="share_action", required=True, metavar="COMMAND")
    add_share_commands(lambda name, help: _command(shares, name, store, help))
    lifecycle_settings = _settings(*_METADATA, *_LOGGING, *_LIFECYCLE)
    lifecycle = sub.add_parser("lifecycle", help="lifecycle rules and the retention cap")
    add_arguments(lifecycle, lifecycle_settings)
    lifecycle_sub = lifecycle.add_subparsers(dest="lifecycle_action", required=True)
    _command(
        lifecycle_sub,
        "run",
        lifecycle_settings,
        "apply what is due now, once (works while serving)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load(args)
    for problem in make_private(settings.data_dir):
        log.warning("data directory: %s", problem)
    if args.command == "serve":
        return cmd_serve(settings)
    if args.command == "lifecycle":
        return asyncio.run(_lifecycle_run(settings))
    if args.command == "share":
        return asyncio.run(_share(args, settings))
    return asyncio.run(_admin(args, settings))


async def _share(args: argparse.Namespace, settings: Settings) -> int:
    meta = make_metastore(settings)
    await meta.open()
    try:
        return await run_share(meta, args)
    finally:
        await meta.close()


async def _lifecycle_run(settings: Settings) -> int:
    """One lifecycle pass (lifecycle/worker.py) over every bucket, then a summary."""
    configure_logging(settings.log_level, settings.log_format)
    meta = make_metastore(settings)
    await meta.open()
    try:
        report = await LifecycleWorker(meta, timing_of(settings)).run_once()
    finally:
        await meta.close()
    print(f"lifecycle: {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
