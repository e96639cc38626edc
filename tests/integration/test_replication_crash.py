"""Nothing lost (issue #21): with the destination KloudVault stopped, 200 acknowledged PUTs
to the source, then kill -9 of the source; the source restarted, the destination back:
all 200 versions arrive, each once, with the version id it has at the source.

Two real gateway processes (SQLite each); the destination keeps its port across its outage
so the target added with `admin replication target add` stays valid. What costs here is
starting Python processes (most of a start is imports), so the two gateways start side by
side and the admin commands run in this process (cli.main on the source's data dir, as a
shell would run them next to the live gateway); the end is the source's own outbox empty,
not a pause.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.clients import boto3_client, unique_bucket_name
from tests.support.gateway import GatewayProcess

PUTS = 200
FAST_RETRY = ["--replication-backoff", "0.05", "--replication-backoff-max", "0.5"]


def admin(gw: GatewayProcess, *args: str) -> None:
    """`kloudvault admin ARGS` on the gateway's data dir, run here rather than started."""
    from gateway import cli  # here: collecting this module does not import the gateway

    assert cli.main(["admin", *args, "--data-dir", str(gw.data_dir)]) == 0


def all_versions(s3: Any, bucket: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            found.setdefault(v["Key"], []).append(v["VersionId"])
    return found


def test_replication_survives_kill9_and_target_outage(
    gateway_factory: Callable[..., GatewayProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    with ThreadPoolExecutor(2) as starting:
        dest_started = starting.submit(gateway_factory, "http")
        source_started = starting.submit(gateway_factory, "http", extra_args=FAST_RETRY)
        dest, source = dest_started.result(), source_started.result()
    bucket, copies = unique_bucket_name("repl-src"), unique_bucket_name("repl-dst")
    src, dst = boto3_client(source), boto3_client(dest)
    for s3, name in ((src, bucket), (dst, copies)):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    admin(source, "replication", "target", "add", "site-b", "--endpoint", dest.endpoint,
          "--access-key", dest.access_key, "--secret-key", dest.secret_key,
          "--bucket", copies, "--kloudvault")  # fmt: skip
    rule = {"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{copies}"}}  # fmt: skip
    src.put_bucket_replication(
        Bucket=bucket, ReplicationConfiguration={"Role": "", "Rules": [rule]}
    )
    try:
        dest.kill9()

        def put(i: int) -> None:
            src.put_object(Bucket=bucket, Key=f"k/{i:03d}", Body=b"%d" % i)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, range(PUTS)))
        source.kill9()
        source.start()
        dest.start()
        want = all_versions(src, bucket)
        assert len(want) == PUTS
        deadline = time.monotonic() + 60
        while True:
            got = all_versions(dst, copies)
            if len(got) >= PUTS and all(len(v) == 1 for v in got.values()):
                break
            assert time.monotonic() < deadline, f"{len(got)} of {PUTS} keys replicated"
            time.sleep(0.2)
        assert got == want  # every key once, with its source version id
        capsys.readouterr()
        while True:  # nothing left to copy (a row goes once its copy is marked COMPLETED)
            admin(source, "replication", "status", bucket)
            if "# 0 pending, 0 failed" in capsys.readouterr().err:
                break
            assert time.monotonic() < deadline, "replication rows left at the source"
            time.sleep(0.2)
        status = src.head_object(Bucket=bucket, Key="k/199")["ReplicationStatus"]
        assert status == "COMPLETED"
        assert all_versions(dst, copies) == want  # no second copy as another version
    except BaseException:
        print(source.logs_since(limit=20_000))
        raise
