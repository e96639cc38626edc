"""k8s/*.yaml: they parse, and they agree with the gateway and with each other.

PyYAML comes with the test dependencies (aws-cli requires it); without it these tests skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import Settings, env_name, flag_name

yaml = pytest.importorskip("yaml")

K8S = Path(__file__).resolve().parents[2] / "k8s"
SETTINGS_ENV = {env_name(f.name) for f in fields(Settings)}
SETTINGS_FLAGS = {flag_name(f.name) for f in fields(Settings)}


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                yield path.name, doc


def find(kind: str, name: str) -> dict[str, Any]:
    for _, doc in documents():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in k8s/")


def test_every_document_is_a_named_object() -> None:
    docs = list(documents())
    assert {file for file, _ in docs} == {
        "gateway.yaml",
        "postgres.yaml",
        "redis.yaml",
        "secret.yaml",
    }
    for file, doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), file
        assert doc["metadata"]["name"], file


def test_gateway_deployment() -> None:
    deploy = find("Deployment", "kloudvault")
    spec = deploy["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/minio/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ports
    args = container["args"]
    assert args[0] == "serve"
    for flag in (a for a in args if a.startswith("--")):
        assert flag in SETTINGS_FLAGS, flag
    listen = args[args.index("--listen") + 1]
    assert int(listen.rpartition(":")[2]) == ports["s3"]
    for var in container.get("env", []):
        assert var["name"] in SETTINGS_ENV, var["name"]
    (source,) = container["envFrom"]
    secret = find("Secret", source["secretRef"]["name"])
    for name in secret["stringData"]:
        assert name in SETTINGS_ENV, name
    assert {"KLOUDVAULT_METADATA_URL", "KLOUDVAULT_ROOT_ACCESS_KEY"} <= set(secret["stringData"])
    assert secret["stringData"]["KLOUDVAULT_METADATA_URL"].startswith("postgresql://")
    volumes = {v["name"] for v in pod["spec"]["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes


def test_services_select_their_pods() -> None:
    for service, workload in [
        ("kloudvault", ("Deployment", "kloudvault")),
        ("kloudvault-postgres", ("StatefulSet", "kloudvault-postgres")),
        ("kloudvault-redis", ("Deployment", "kloudvault-redis")),
    ]:
        svc = find("Service", service)
        pod = find(*workload)["spec"]["template"]
        assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items(), service
        ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, service


def test_urls_point_at_the_services() -> None:
    secret = find("Secret", "kloudvault")["stringData"]
    assert "@kloudvault-postgres:5432/" in secret["KLOUDVAULT_METADATA_URL"]
    assert secret["KLOUDVAULT_REDIS_URL"].startswith("redis://kloudvault-redis:6379")


def test_redis_runs_without_persistence() -> None:
    (container,) = find("Deployment", "kloudvault-redis")["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--save") + 1] == ""
    assert args[args.index("--appendonly") + 1] == "no"
    assert args[args.index("--maxmemory-policy") + 1] in ("volatile-lru", "noeviction")
