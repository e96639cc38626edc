"""The conformance runner (`python -m conformance`) against KloudVault, on each backend.

EXPECTED_PASS lists the features KloudVault implements: the quick matrix must show no
failure in them. Every other feature must still be reported (failing or partly passing),
and a feature outside the list that passes completely fails this test too, so the list is
updated when a feature lands instead of drifting out of date.

Backends: `local` runs every feature with every client. `s3` (SeaweedFS) and `azure`
(Azurite) change only where bytes live, so they run the features that move bytes
(DATA_FEATURES) with three clients that move them differently (DATA_CLIENTS: an SDK, aws-cli's
transfer manager, rclone), which keeps the three runs within CI's budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.registry import FEATURES
from tests.integration.conftest import GatewayFactory, backend_args
from tests.support.gateway import REPO_ROOT
from tests.support.postgres import fresh_schema_sync
from tests.support.redis import RedisServer

EXPECTED_PASS = frozenset(
    {
        "buckets",
        "objects",
        "metadata",
        "ranges",
        "conditionals",
        "copy",
        "listing",
        "batch-delete",
        "sync",
        "multipart",
        "checksums",
        "presign",
        "versioning",
        "lifecycle",
        "tagging",
        "object-lock",
        "post-object",
        "cors",
        "website",
        "encryption",
        "acl",
        "policy",
    }
)
NOT_YET = frozenset(FEATURES) - EXPECTED_PASS

BACKENDS = ("local", "s3", "azure")
DATA_FEATURES = ("objects", "ranges", "copy", "batch-delete", "multipart", "checksums")
DATA_CLIENTS = ("boto3", "aws-s3", "rclone")


def _run_conformance(
    endpoint: str,
    access: str,
    secret: str,
    out: Path,
    features: Sequence[str] | None,
    clients: Sequence[str] | None = None,
) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "conformance", "--endpoint", endpoint, "--access-key", access,
        "--secret-key", secret, "--quick", "--out", str(out),
    ]  # fmt: skip
    if features is not None:
        cmd += ["--features", ",".join(features)]
    if clients is not None:
        cmd += ["--clients", ",".join(clients)]
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=540, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, f"conformance exited {result.returncode}\n{result.stderr}"
    doc: dict[str, Any] = json.loads((out / "matrix.json").read_text())
    return doc


@pytest.mark.clients
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conformance_matrix(
    backend: str,
    request: pytest.FixtureRequest,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
) -> None:
    args, env = backend_args(request.config, backend)
    # SSE-C over plain http is refused unless the operator allows it (the encryption row).
    gw = gateway_factory("http", extra_args=[*args, "--allow-sse-c-over-http"], extra_env=env)
    features = None if backend == "local" else DATA_FEATURES
    clients = None if backend == "local" else DATA_CLIENTS
    out = tmp_path / "out"
    doc = _run_conformance(gw.endpoint, gw.access_key, gw.secret_key, out, features, clients)
    report = (out / "matrix.md").read_text()
    reported = doc["features"]

    assert set(reported) == set(features or FEATURES), "every feature run is reported"
    broken = {
        f"{r['feature']}/{r['client']}/{r['scenario']}": r["detail"]
        for r in doc["results"]
        if r["status"] == "fail" and r["feature"] in EXPECTED_PASS
    }
    assert not broken, (
        "implemented features fail:\n"
        + "\n".join(f"- {name}: {detail}" for name, detail in broken.items())
        + f"\n\n{report}"
    )
    newly_passing = sorted(f for f in NOT_YET & set(reported) if reported[f]["status"] == "pass")
    assert not newly_passing, (
        f"{newly_passing} now pass every scenario: add them to EXPECTED_PASS in {__file__}"
    )


ACCESS_FEATURES = ("acl", "policy")


@pytest.mark.clients
@pytest.mark.timeout(600)
def test_access_rows_on_postgres_and_redis(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    """The `acl` and `policy` rows again on the replicated metadata setup: the access
    configuration then lives in PostgreSQL and is cached in Redis."""
    with RedisServer() as redis_server, fresh_schema_sync("conf") as dsn:
        env = {"KLOUDVAULT_METADATA_URL": dsn, "KLOUDVAULT_REDIS_URL": redis_server.url}
        gw = gateway_factory("http", extra_env=env)
        try:
            doc = _run_conformance(
                gw.endpoint, gw.access_key, gw.secret_key, tmp_path / "out", ACCESS_FEATURES
            )
        finally:
            gw.stop()
    failed = {
        f"{r['feature']}/{r['client']}/{r['scenario']}": r["detail"]
        for r in doc["results"]
        if r["status"] == "fail"
    }
    assert set(doc["features"]) == set(ACCESS_FEATURES)
    clients = {r["client"] for r in doc["results"] if r["status"] == "pass"}
    assert {"aws-s3api", "boto3", "rclone", "s3cmd", "http"} <= clients, clients
    assert not failed, failed
