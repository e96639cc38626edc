"""The workloads, each a sequence of measured phases run against one target at a time.

    large      25 MiB PUT then GET, at each concurrency (16, 64, 400)
    small      4 KiB PUT, GET, HEAD, DELETE at concurrency 64
    small-wrk  4 KiB GET driven by wrk, for rates beyond this generator (bench/wrk.py)
    large-wrk  25 MiB GET driven by wrk (16 objects), the same against nginx's sendfile
    multipart  one 1 GiB multipart upload (presigned UploadPart, 16 MiB parts, 8 at a
               time) and its download as one GET; server RSS growth over each
    listing    ListObjectsV2 over 100,000 keys: every page flat, and with a delimiter

Setup and clean-up (buckets, deleting what a phase wrote, populating the listing keys)
are not measured. The caller interleaves targets phase group by phase group, reversing
their order every other round (A B, B A: `in_turn`), so noise from the machine, and the
cost of coming second, reach every target alike.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.loadgen import PhaseResult, Request, run_phase
from bench.targets import Target

KIB, MIB = 1024, 1024 * 1024
T = TypeVar("T")


def in_turn(targets: Sequence[T], round_index: int) -> list[T]:
    """The targets in the order round `round_index` (from 0) runs them: as given, then
    reversed, and so on. On a two-core machine the second of two targets run back to back
    was 8-12% slower whichever it was (bench/RESULTS.md, 2026-12-06): over an even number
    of rounds each target runs first as often as last."""
    return list(targets) if round_index % 2 == 0 else list(reversed(targets))


@dataclass(frozen=True)
class Scale:
    large_size: int = 25 * MIB
    large_concurrency: tuple[int, ...] = (16, 64, 400)
    large_requests: Callable[[int], int] = lambda c: max(2 * c, 64) if c < 400 else c
    small_size: int = 4 * KIB
    small_concurrency: int = 64
    small_requests: int = 5000
    wrk_seconds: float = 10.0
    multipart_size: int = 1024 * MIB
    part_size: int = 16 * MIB
    part_concurrency: int = 8
    listing_keys: int = 100_000
    listing_dirs: int = 100


QUICK = Scale(
    large_size=4 * MIB,
    large_concurrency=(4, 16),
    large_requests=lambda c: 2 * c,
    small_requests=500,
    wrk_seconds=2.0,
    multipart_size=64 * MIB,
    part_size=8 * MIB,
    listing_keys=2000,
    listing_dirs=10,
)


class Session:
    """One target during a bench run: its signing client, bucket and event loop."""

    def __init__(self, target: Target, loop: asyncio.AbstractEventLoop, run_id: str) -> None:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config

        self.target = target
        self.loop = loop
        self.s3: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=target.url,
            region_name=target.region,
            aws_access_key_id=target.access_key,
            aws_secret_access_key=target.secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                read_timeout=600,
            ),
        )
        self.bucket = f"kvbench-{run_id}"
        if target.kind == "s3":  # plain HTTP (nginx) has no buckets: a PUT makes the path
            self.s3.create_bucket(Bucket=self.bucket)
        self.listing_ready = 0
        self.put_headers: tuple[tuple[str, str], ...] = ()  # what a PUT needs besides its URL

    def presign(self, method: str, key: str, **params: Any) -> str:
        url: str = self.s3.generate_presigned_url(
            method, Params={"Bucket": self.bucket, "Key": key, **params}, ExpiresIn=6 * 3600
        )
        return url

    def phase(
        self, name: str, requests: list[Request], concurrency: int, payload: memoryview
    ) -> PhaseResult:
        return run_phase(
            self.target.name, name, requests, concurrency, payload, self.target.pid, self.loop
        )

    def delete_all(self, prefix: str, payload: memoryview) -> None:
        if self.target.kind == "http":  # WebDAV DELETE of a directory takes all under it
            url = f"{self.target.url}/{self.bucket}/{prefix}"
            requests = [Request("DELETE", url if url.endswith("/") else url + "/")]
            run_phase(self.target.name, "cleanup", requests, 1, payload, None, self.loop)
            return
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys += [item["Key"] for item in page.get("Contents", [])]
        requests = [Request("DELETE", self.presign("delete_object", k)) for k in keys]
        run_phase(self.target.name, "cleanup", requests, 64, payload, None, self.loop)

    def close(self) -> None:
        try:
            self.delete_all("", memoryview(b""))
            if self.target.kind == "s3":
                self.s3.delete_bucket(Bucket=self.bucket)
        except Exception as exc:
            print(f"bench: clean-up of {self.target.name}: {exc!r}")


def payload_for(scale: Scale) -> memoryview:
    """One shared read-only buffer all PUT bodies are sliced from (random: no compression)."""
    size = max(scale.large_size, scale.part_size, scale.small_size) + MIB
    return memoryview(os.urandom(size)).toreadonly()


# -- large objects -------------------------------------------------------------------------------
def large(s: Session, scale: Scale, concurrency: int, payload: memoryview) -> list[PhaseResult]:
    n = scale.large_requests(concurrency)
    prefix = f"large-{uuid.uuid4().hex[:6]}/"
    keys = [f"{prefix}{i:05d}" for i in range(n)]
    size = scale.large_size
    # Each body starts at a different offset, so objects differ (no dedup can help).
    puts = [
        Request("PUT", s.presign("put_object", k), size, (i * 4099) % MIB, s.put_headers)
        for i, k in enumerate(keys)
    ]
    gets = [Request("GET", s.presign("get_object", k)) for k in keys]
    label = f"{size // MIB} MiB"
    out = [s.phase(f"large PUT {label} c={concurrency}", puts, concurrency, payload)]
    out.append(s.phase(f"large GET {label} c={concurrency}", gets, concurrency, payload))
    s.delete_all(prefix, payload)
    return out


# -- small objects -------------------------------------------------------------------------------
def small(s: Session, scale: Scale, payload: memoryview) -> list[PhaseResult]:
    n, c, size = scale.small_requests, scale.small_concurrency, scale.small_size
    prefix = f"small-{uuid.uuid4().hex[:6]}/"
    keys = [f"{prefix}{i:06d}" for i in range(n)]
    label = f"{size // KIB} KiB"
    plan = [
        (
            "PUT",
            [
                Request("PUT", s.presign("put_object", k), size, i % MIB, s.put_headers)
                for i, k in enumerate(keys)
            ],
        ),  # fmt: skip
        ("GET", [Request("GET", s.presign("get_object", k)) for k in keys]),
        ("HEAD", [Request("HEAD", s.presign("head_object", k)) for k in keys]),
        ("DELETE", [Request("DELETE", s.presign("delete_object", k)) for k in keys]),
    ]
    return [s.phase(f"small {op} {label} c={c}", reqs, c, payload) for op, reqs in plan]


# -- one big multipart upload ----------------------------------------------------------------------
def multipart(s: Session, scale: Scale, payload: memoryview) -> list[PhaseResult]:
    key = f"multipart-{uuid.uuid4().hex[:6]}"
    parts = scale.multipart_size // scale.part_size
    label = f"{scale.multipart_size // MIB} MiB"
    upload_id = s.s3.create_multipart_upload(Bucket=s.bucket, Key=key)["UploadId"]
    requests = [
        Request("PUT", s.presign("upload_part", key, UploadId=upload_id, PartNumber=n),
                scale.part_size, (n * 4099) % MIB)
        for n in range(1, parts + 1)
    ]  # fmt: skip
    started = time.perf_counter()
    up = s.phase(f"multipart PUT {label}", requests, scale.part_concurrency, payload)
    listed = s.s3.list_parts(Bucket=s.bucket, Key=key, UploadId=upload_id, MaxParts=10000)
    s.s3.complete_multipart_upload(
        Bucket=s.bucket, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                   for p in listed["Parts"]]},
    )  # fmt: skip
    up.seconds = time.perf_counter() - started  # the upload includes its completion
    down = s.phase(
        f"multipart GET {label}", [Request("GET", s.presign("get_object", key))], 1, payload
    )
    s.s3.delete_object(Bucket=s.bucket, Key=key)
    return [up, down]


# -- listing ---------------------------------------------------------------------------------------
def listing_keys(scale: Scale) -> list[str]:
    per_dir = scale.listing_keys // scale.listing_dirs
    return [f"list/d{d:03d}/k{i:06d}" for d in range(scale.listing_dirs) for i in range(per_dir)]


def populate_listing(s: Session, scale: Scale, payload: memoryview) -> PhaseResult:
    keys = listing_keys(scale)
    requests = [Request("PUT", s.presign("put_object", k), 0) for k in keys]
    result = s.phase(f"populate {len(keys)} keys (0 B PUT) c=64", requests, 64, payload)
    s.listing_ready = len(keys) - result.errors
    return result


async def _list_all(s: Session, delimiter: str | None) -> tuple[int, int, list[float]]:
    """Page through ListObjectsV2 under list/; returns (entries, pages, page latencies)."""
    import aiohttp
    from lxml import etree

    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    entries = pages = 0
    latencies: list[float] = []
    token: str | None = None
    async with aiohttp.ClientSession() as http:
        while True:
            params: dict[str, Any] = {"Bucket": s.bucket, "Prefix": "list/", "MaxKeys": 1000}
            if delimiter:
                params["Delimiter"] = delimiter
            if token:
                params["ContinuationToken"] = token
            url = s.s3.generate_presigned_url("list_objects_v2", Params=params, ExpiresIn=600)
            # botocore adds encoding-type=url; keep the request as S3 clients send it.
            started = time.perf_counter()
            async with http.get(url) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"ListObjectsV2 -> {resp.status}: {body[:300]!r}")
            latencies.append(time.perf_counter() - started)
            root = etree.fromstring(body)
            entries += len(root.findall(f"{ns}Contents")) + len(root.findall(f"{ns}CommonPrefixes"))
            pages += 1
            if root.findtext(f"{ns}IsTruncated") != "true":
                return entries, pages, latencies
            token = root.findtext(f"{ns}NextContinuationToken")
            if not token:
                raise RuntimeError("truncated listing without NextContinuationToken")


def listing(s: Session, scale: Scale) -> list[PhaseResult]:
    from bench import procstat

    out = []
    for label, delimiter in (("flat", None), ("delimiter /", "/")):
        result = PhaseResult(s.target.name, f"list {scale.listing_keys} keys {label}", 1)
        cpu = procstat.cpu_seconds(s.target.pid) if s.target.pid else None
        started = time.perf_counter()
        entries, pages, latencies = s.loop.run_until_complete(_list_all(s, delimiter))
        result.seconds = time.perf_counter() - started
        if cpu is not None and s.target.pid:
            result.server_cpu = procstat.cpu_seconds(s.target.pid) - cpu
        result.requests, result.latencies = pages, latencies
        result.received = entries  # entries, not bytes: reported as entries/s
        out.append(result)
    return out
