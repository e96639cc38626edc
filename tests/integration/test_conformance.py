"""The conformance runner (`python -m conformance`) against KloudVault, on each backend.

EXPECTED_PASS lists the features KloudVault implements: the quick matrix must show no
failure in them. Every other feature must still be reported (failing or partly passing),
and a feature outside the list that passes completely fails this test too, so the list is
updated when a feature lands instead of drifting out of date.

Backends: `local` always runs (plus KLOUDVAULT_TEST_GATEWAY_ARGS, as everywhere). `s3` and
`azure` run once tests/support/remote_backends.py offers
`gateway_backend_args(name, tmp_path) -> list[str]` (the gateway CLI arguments that put its
blobs on that backend); until then they skip with that reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.registry import FEATURES
from tests.integration.conftest import GatewayFactory
from tests.support.gateway import REPO_ROOT

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
    }
)
NOT_YET = frozenset(FEATURES) - EXPECTED_PASS

BACKENDS = ("local", "s3", "azure")


def _backend_args(name: str, tmp_path: Path) -> list[str]:
    if name == "local":
        return []
    try:
        from tests.support import remote_backends
    except ImportError as exc:  # pragma: no cover - the module exists today
        pytest.skip(f"remote backend support unavailable: {exc}")
    factory = getattr(remote_backends, "gateway_backend_args", None)
    if factory is None:
        pytest.skip(
            f"the gateway cannot run on the {name} backend yet "
            "(tests/support/remote_backends.py has no gateway_backend_args)"
        )
    args: list[str] = factory(name, tmp_path)
    return args


def _run_conformance(endpoint: str, access: str, secret: str, out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable, "-m", "conformance", "--endpoint", endpoint, "--access-key", access,
        "--secret-key", secret, "--quick", "--out", str(out),
    ]  # fmt: skip
    result = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=540, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, f"conformance exited {result.returncode}\n{result.stderr}"
    doc: dict[str, Any] = json.loads((out / "matrix.json").read_text())
    return doc


@pytest.mark.clients
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", BACKENDS)
def test_conformance_matrix(backend: str, gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    gw = gateway_factory("http", extra_args=_backend_args(backend, tmp_path))
    doc = _run_conformance(gw.endpoint, gw.access_key, gw.secret_key, tmp_path / "out")
    report = (tmp_path / "out" / "matrix.md").read_text()
    features = doc["features"]

    assert set(features) == set(FEATURES), "every feature is reported, built or not"
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
    newly_passing = sorted(f for f in NOT_YET if features[f]["status"] == "pass")
    assert not newly_passing, (
        f"{newly_passing} now pass every scenario: add them to EXPECTED_PASS in {__file__}"
    )
