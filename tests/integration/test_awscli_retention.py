"""aws-cli's s3api on the retention features: versioning, object lock and lifecycle
configuration. What these features do is tested with boto3 on the in-process app
(tests/app/test_versioning.py, test_object_lock.py, test_lifecycle.py); here the real CLI
shows it sends and reads them as AWS's would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_lifecycle import rule
from tests.app.test_object_lock import soon
from tests.support.clients import run_aws, unique_bucket_name
from tests.support.gateway import GatewayProcess
from tests.support.versions import purge_bucket

pytestmark = pytest.mark.clients


@pytest.fixture
def versioned(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    purge_bucket(s3, name)


@pytest.fixture
def locked(request: pytest.FixtureRequest, s3: Any) -> Iterator[str]:
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    purge_bucket(s3, name)


def test_awscli_list_object_versions(gateway: GatewayProcess, s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="f.txt", Body=b"1")["VersionId"]
    s3.delete_object(Bucket=versioned, Key="f.txt")
    out = json.loads(
        run_aws(gateway, "s3api", "list-object-versions", "--bucket", versioned).stdout
    )
    assert [v["VersionId"] for v in out["Versions"]] == [v1]
    assert [m["IsLatest"] for m in out["DeleteMarkers"]] == [True]
    status = json.loads(
        run_aws(gateway, "s3api", "get-bucket-versioning", "--bucket", versioned).stdout
    )
    assert status["Status"] == "Enabled"


def test_awscli_put_object_retention(gateway: GatewayProcess, s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="cli", Body=b"x")["VersionId"]
    until = soon(3600).strftime("%Y-%m-%dT%H:%M:%SZ")
    run_aws(
        gateway,
        "s3api",
        "put-object-retention",
        "--bucket",
        locked,
        "--key",
        "cli",
        "--retention",
        json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": until}),
    )
    out = json.loads(
        run_aws(gateway, "s3api", "get-object-retention", "--bucket", locked, "--key", "cli").stdout
    )
    assert out["Retention"]["Mode"] == "GOVERNANCE"
    failed = run_aws(
        gateway,
        "s3api",
        "delete-object",
        "--bucket",
        locked,
        "--key",
        "cli",
        "--version-id",
        version,
        check=False,
    )
    assert failed.returncode != 0 and "AccessDenied" in failed.stderr


def test_awscli_put_bucket_lifecycle_configuration(
    gateway: GatewayProcess, bucket: str, tmp_path: Path
) -> None:
    rules = {"Rules": [rule("cli", Expiration={"Days": 10})]}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    run_aws(
        gateway,
        "s3api",
        "put-bucket-lifecycle-configuration",
        "--bucket",
        bucket,
        "--lifecycle-configuration",
        f"file://{path}",
    )
    out = run_aws(gateway, "s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket)
    assert json.loads(out.stdout) == rules
