"""Listing at scale: one bucket of 1,000,000 keys, ListObjects pages of 1,000 on SQLite and
PostgreSQL, through the MetaStore (the seek walk included), timed page by page.

    python -m bench.listing_scale                      # 1M keys, both stores
    python -m bench.listing_scale --keys 100000 --pages 100 --stores sqlite
    python -m bench.listing_scale --keep /tmp/kv-bench   # load once, time as often as needed

Keys look like a real bucket (dirs, subdirs, files; see `keys()`), and are bulk-loaded
straight into the versions table (executemany on SQLite, COPY on PostgreSQL) rather than
through one put_object each, which would take hours. Each case times `--pages` pages at
random positions (start_after), after a few warm-up pages:

    flat               no delimiter, from a random key: 1,000 objects per page
    delimiter, dirs    prefix "users/", delimiter "/": 1,000 common prefixes per page,
                       i.e. 1,000 seeks (10,000 user folders, 30 files each)
    delimiter, files   prefix "datasets/<name>/", delimiter "/": 1,000 objects per page

PostgreSQL comes from KLOUDVAULT_TEST_POSTGRES_DSN (default: the local server, database
test); the bench works in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from gateway.meta.base import Bucket, MetaStore, ObjectVersion
from gateway.meta.postgres import PostgresMetaStore
from gateway.meta.rows import VERSION_COLUMNS, version_params
from gateway.meta.sqlite import SqliteMetaStore

BUCKET = "bench"
USERS = 10_000
PHOTOS = 30  # per user: 300,000 keys under users/
DATASETS = 20
NOW = 1_700_000_000.0


def keys(total: int) -> Iterator[str]:
    """`total` distinct keys of three families (sorted order does not matter):
    users/<u>/photos/<n>.jpg (30%), datasets/<name>/part-<n>.parquet (20%),
    logs/<service>/<yyyy>/<mm>/<dd>/<host>-<n>.log.gz (the rest)."""
    users = min(USERS, max(1, int(total * 0.3) // PHOTOS))
    n = 0
    for u in range(users):
        for p in range(PHOTOS):
            if n == total:
                return
            yield f"users/u{u:05d}/photos/IMG_{p:04d}.jpg"
            n += 1
    per_dataset = max(1, int(total * 0.2) // DATASETS)
    for d in range(DATASETS):
        for p in range(per_dataset):
            if n == total:
                return
            yield f"datasets/set{d:02d}/part-{p:06d}.parquet"
            n += 1
    i = 0
    while n < total:
        service, day, host = i % 40, (i // 40) % 365, (i // 14600) % 50
        yield (
            f"logs/svc{service:02d}/2024/{day // 31 + 1:02d}/{day % 31 + 1:02d}"
            f"/host{host:02d}-{i:07d}.log.gz"
        )
        n += 1
        i += 1


def version(key: str) -> ObjectVersion:
    return ObjectVersion(
        BUCKET, key, "null", NOW, size=1234, etag="0" * 32, owner="bench", content_type="x/y"
    )


# -- bulk loading ------------------------------------------------------------------------------
INSERT_COLUMNS = f"{VERSION_COLUMNS}, seq"


def row(key: str) -> tuple[Any, ...]:
    p = version_params(version(key))
    return (*p[:3], True, *p[3:], 1)


async def fill_sqlite(path: str, total: int) -> None:
    store = SqliteMetaStore(path)
    await store.open()
    await store.create_bucket(Bucket(BUCKET, "bench", NOW))
    await store.close()
    conn = sqlite3.connect(path)
    try:
        marks = ", ".join("?" * len(INSERT_COLUMNS.split(",")))
        it = keys(total)
        with conn:
            while batch := [row(k) for _, k in zip(range(50_000), it, strict=False)]:
                conn.executemany(f"INSERT INTO versions ({INSERT_COLUMNS}) VALUES ({marks})", batch)
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def fill_postgres(dsn: str, total: int) -> None:
    store = PostgresMetaStore(dsn, pool_min=1)
    await store.open()
    await store.create_bucket(Bucket(BUCKET, "bench", NOW))
    await store.close()
    conn = await asyncpg.connect(dsn)
    try:
        columns = [c.strip() for c in INSERT_COLUMNS.split(",")]
        await conn.copy_records_to_table("versions", records=map(row, keys(total)), columns=columns)
        await conn.execute("VACUUM ANALYZE versions")  # the visibility map: index-only scans
    finally:
        await conn.close()


# -- timing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    name: str
    prefix: str
    delimiter: str
    starts: Callable[[random.Random], str]


def cases(total: int) -> list[Case]:
    users = min(USERS, max(1, int(total * 0.3) // PHOTOS))
    per_dataset = max(1, int(total * 0.2) // DATASETS)
    sample = [k for i, k in enumerate(keys(total)) if i % 997 == 0]
    return [
        Case("flat", "", "", lambda r: r.choice(sample)),
        Case(
            "delimiter, dirs",
            "users/",
            "/",
            lambda r: f"users/u{r.randrange(max(1, users - 1000)):05d}/",
        ),
        Case(
            "delimiter, files",
            "datasets/set07/",
            "/",
            lambda r: f"datasets/set07/part-{r.randrange(max(1, per_dataset - 1000)):06d}",
        ),
    ]


@dataclass(frozen=True)
class Result:
    store: str
    case: str
    p50_ms: float
    p99_ms: float
    items: float  # mean objects + common prefixes per page
    # Mean CPU of this process per page: the whole listing on SQLite (its thread included),
    # the client side only (decoding rows, the walk) on PostgreSQL. Steadier than wall time
    # on a shared machine.
    cpu_ms: float
    # PostgreSQL: the CPU of its server processes serving this database per page (/proc;
    # the server runs on this machine). None for SQLite (in cpu_ms already).
    server_cpu_ms: float | None = None


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of the live processes among `pids`."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def time_case(
    store: MetaStore,
    store_name: str,
    case: Case,
    pages: int,
    rng: random.Random,
    server_pids: Callable[[], Awaitable[list[int]]] | None = None,
) -> Result:
    async def page(start: str) -> int:
        p = await store.list_objects(
            BUCKET, prefix=case.prefix, delimiter=case.delimiter, start_after=start
        )
        return len(p.objects) + len(p.common_prefixes)

    for _ in range(5):  # warm-up: caches, prepared statements
        await page(case.starts(rng))
    times, items = [], []
    pids = await server_pids() if server_pids else []
    server0 = _proc_cpu(pids)
    cpu0 = time.process_time()
    for _ in range(pages):
        start = case.starts(rng)
        t0 = time.perf_counter()
        items.append(await page(start))
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - cpu0) * 1000 / pages
    server = (_proc_cpu(pids) - server0) * 1000 / pages if server_pids else None
    times.sort()
    return Result(
        store_name,
        case.name,
        statistics.median(times),
        times[min(len(times) - 1, int(len(times) * 0.99))],
        statistics.mean(items),
        cpu,
        server,
    )


async def run_store(
    name: str,
    open_store: Callable[[], Awaitable[MetaStore]],
    total: int,
    pages: int,
    server_pids: Callable[[], Awaitable[list[int]]] | None = None,
) -> list[Result]:
    store = await open_store()
    try:
        rng = random.Random(42)
        return [
            await time_case(store, name, case, pages, rng, server_pids) for case in cases(total)
        ]
    finally:
        await store.close()


async def main_async(args: argparse.Namespace) -> list[Result]:
    """Load (unless --keep DIR already holds a load of the same size), then time."""
    results: list[Result] = []
    keep = Path(args.keep) if args.keep else None
    with tempfile.TemporaryDirectory(prefix="kv-bench-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if "sqlite" in args.stores:
            path = str(work / f"meta-{args.keys}.sqlite3")
            if not Path(path).exists():
                t0 = time.perf_counter()
                await fill_sqlite(path, args.keys)
                _loaded("sqlite", args.keys, t0)

            async def open_sqlite() -> MetaStore:
                store = SqliteMetaStore(path)
                await store.open()
                return store

            results += await run_store("SQLite", open_sqlite, args.keys, args.pages)
            _print(results)
        if "postgres" in args.stores:
            results += await bench_postgres(args, work / f"postgres-schema-{args.keys}", keep)
            _print(results)
    return results


async def bench_postgres(args: argparse.Namespace, marker: Path, keep: Path | None) -> list[Result]:
    admin = args.postgres_dsn
    schema = marker.read_text().strip() if marker.exists() else ""
    if not schema:
        schema = f"kvbench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.close()
    sep = "&" if "?" in admin else "?"
    dsn = f"{admin}{sep}search_path={schema}"
    try:
        if not marker.exists():
            t0 = time.perf_counter()
            await fill_postgres(dsn, args.keys)
            _loaded("postgres", args.keys, t0)
            if keep:
                marker.write_text(schema)

        async def open_postgres() -> MetaStore:
            store = PostgresMetaStore(dsn, pool_min=1, pool_max=2)
            await store.open()
            return store

        async def backends() -> list[int]:
            # This database's server processes: the store's pool (and nothing else, in a
            # database of the bench's own).
            conn = await asyncpg.connect(admin)
            try:
                found = await conn.fetch(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                await conn.close()
            return [r["pid"] for r in found]

        return await run_store("PostgreSQL", open_postgres, args.keys, args.pages, backends)
    finally:
        if not keep:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await conn.close()


def _loaded(store: str, total: int, t0: float) -> None:
    print(f"{store}: {total:,} keys loaded in {time.perf_counter() - t0:.0f}s", flush=True)


def _print(results: list[Result]) -> None:
    print("| store | page | p50 (ms) | p99 (ms) | CPU ms/page | server CPU ms/page | items/page |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        server = "—" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.1f}"
        print(
            f"| {r.store} | {r.case} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.cpu_ms:.1f}"
            f" | {server} | {r.items:.0f} |"
        )
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.listing_scale", description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200, help="timed pages per case")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the loaded SQLite file and PostgreSQL schema (named in DIR) and reuse"
        " them next time: time again without loading again",
    )
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("KLOUDVAULT_TEST_POSTGRES_DSN")
        or "postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    args.stores = args.stores.split(",")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
