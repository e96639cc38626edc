"""k8s/ and the Dockerfile: every manifest validates against the Kubernetes API schemas in
strict mode (an unknown field or a wrong type fails), the kustomization builds, and the
pieces agree with the gateway and with each other.

Schemas: kubernetes-validate ships the OpenAPI schemas of every Kubernetes release, so
nothing is fetched. It has none for the Prometheus Operator's CRDs (ServiceMonitor,
PrometheusRule): their metadata is checked against the Kubernetes ObjectMeta schema, and
their spec against CRD_SCHEMAS below, written from the operator's API reference for the
fields these manifests may use (strict too, so a misspelt field fails). That is our
transcription, not the CRD itself; a cluster's API server has the last word.

`kubectl kustomize` (kubectl is on the machine image) builds the kustomization offline.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import referencing
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError, latest_version

from gateway.app import LIVE_PATHS, READY_PATHS
from gateway.settings import Settings, env_name, flag_name
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
RULE_FILE = K8S / "monitoring" / "alerts.yaml"  # a Prometheus rule file, not a manifest
PROMETHEUS_RULE = K8S / "prometheusrule.yaml"
K8S_VERSION = latest_version()
SETTINGS_ENV = {env_name(f.name) for f in fields(Settings)}
SETTINGS_FLAGS = {flag_name(f.name) for f in fields(Settings)}
# Named by configmap.yaml, added by the /metrics work of issue 14 (another branch): empty,
# and so a no-op, once both are merged; then delete it.
GATEWAY_LABELS = {"app.kubernetes.io/name": "kloudvault", "app.kubernetes.io/component": "gateway"}
GIB = 1024**3

# -- the CRDs kubernetes-validate has no schema for -----------------------------------------------


def _closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


_STRING = {"type": "string"}
_STRINGS = {"type": "object", "additionalProperties": _STRING}
_ANY_OBJECT = {"type": "object"}
_LABEL_SELECTOR = _closed(
    {"matchLabels": _STRINGS, "matchExpressions": {"type": "array", "items": _ANY_OBJECT}}
)
# monitoring.coreos.com/v1, from the operator's API reference (ServiceMonitorSpec, Endpoint,
# PrometheusRuleSpec, RuleGroup, Rule).
CRD_SCHEMAS: dict[str, dict[str, Any]] = {
    "ServiceMonitor": _closed(
        {
            "jobLabel": _STRING,
            "targetLabels": {"type": "array", "items": _STRING},
            "podTargetLabels": {"type": "array", "items": _STRING},
            "selector": _LABEL_SELECTOR,
            "namespaceSelector": _closed(
                {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STRING}}
            ),
            "sampleLimit": {"type": "integer"},
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": _closed(
                    {
                        "port": _STRING,
                        "targetPort": {"type": ["string", "integer"]},
                        "path": _STRING,
                        "scheme": {"enum": ["http", "https"]},
                        "params": _ANY_OBJECT,
                        "interval": {"type": "string", "pattern": r"^(\d+(ms|s|m|h))+$"},
                        "scrapeTimeout": {"type": "string", "pattern": r"^(\d+(ms|s|m|h))+$"},
                        "honorLabels": {"type": "boolean"},
                        "honorTimestamps": {"type": "boolean"},
                        "authorization": _ANY_OBJECT,
                        "bearerTokenSecret": _closed(
                            {"name": _STRING, "key": _STRING, "optional": {"type": "boolean"}},
                            ("key",),
                        ),
                        "tlsConfig": _ANY_OBJECT,
                        "relabelings": {"type": "array", "items": _ANY_OBJECT},
                        "metricRelabelings": {"type": "array", "items": _ANY_OBJECT},
                    }
                ),
            },
        },
        ("selector", "endpoints"),
    ),
    "PrometheusRule": _closed(
        {
            "groups": {
                "type": "array",
                "minItems": 1,
                "items": _closed(
                    {
                        "name": _STRING,
                        "interval": _STRING,
                        "labels": _STRINGS,
                        "limit": {"type": "integer"},
                        "query_offset": _STRING,
                        "partial_response_strategy": _STRING,
                        "rules": {
                            "type": "array",
                            "items": _closed(
                                {
                                    "record": _STRING,
                                    "alert": _STRING,
                                    "expr": {"type": ["string", "integer"]},
                                    "for": _STRING,
                                    "keep_firing_for": _STRING,
                                    "labels": _STRINGS,
                                    "annotations": _STRINGS,
                                },
                                ("expr",),
                            ),
                        },
                    },
                    ("name", "rules"),
                ),
            }
        },
        ("groups",),
    ),
}
CRD_API = "monitoring.coreos.com/v1"


def _object_meta_validator() -> jsonschema.Draft202012Validator:
    """The Kubernetes ObjectMeta schema (strict), from kubernetes-validate's data."""
    folder = importlib.resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{K8S_VERSION}-local-strict"
    )
    definitions = json.loads(folder.joinpath("_definitions.json").read_text())
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        definitions["$id"], referencing.Resource.from_contents(definitions)
    )
    ref = {"$ref": definitions["$id"] + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    return jsonschema.Draft202012Validator(ref, registry=registry)


OBJECT_META = _object_meta_validator()


def validate(doc: dict[str, Any]) -> None:
    """Raise (jsonschema's ValidationError, or SchemaNotFoundError) unless `doc` is valid."""
    if doc.get("apiVersion") == CRD_API and doc.get("kind") in CRD_SCHEMAS:
        jsonschema.validate(
            {k: v for k, v in doc.items() if k not in ("metadata", "spec")},
            _closed({"apiVersion": _STRING, "kind": _STRING}, ("apiVersion", "kind")),
        )
        OBJECT_META.validate(doc["metadata"])
        jsonschema.validate(doc["spec"], CRD_SCHEMAS[doc["kind"]])
        return
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


# -- the manifests ------------------------------------------------------------------------------


def manifest_files() -> list[Path]:
    return sorted(
        p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml" and p != RULE_FILE
    )


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in manifest_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                yield str(path.relative_to(K8S)), doc


DOCUMENTS = list(documents())


def find(kind: str, name: str, docs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    for doc in docs if docs is not None else [d for _, d in DOCUMENTS]:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in k8s/")


def gateway_container() -> dict[str, Any]:
    (container,) = find("Deployment", "kloudvault")["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


@pytest.fixture(scope="module")
def built() -> list[dict[str, Any]]:
    """`kubectl kustomize k8s/`: what `kubectl apply -k k8s/` would send."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        require_service("kubectl", "not on PATH (it builds the kustomization)")
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.mark.parametrize(
    "doc",
    [doc for _, doc in DOCUMENTS],
    ids=[f"{file}:{doc['kind']}/{doc['metadata']['name']}" for file, doc in DOCUMENTS],
)
def test_manifest_validates_strictly(doc: dict[str, Any]) -> None:
    validate(doc)


def test_the_crds_have_no_schema_in_kubernetes_validate() -> None:
    """Why CRD_SCHEMAS exists; when a release ships one, use it instead."""
    for kind in CRD_SCHEMAS:
        doc = {"apiVersion": CRD_API, "kind": kind, "metadata": {"name": "x"}, "spec": {}}
        with pytest.raises(SchemaNotFoundError):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest_and_builds(built: list[dict[str, Any]]) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {str(p.relative_to(K8S)) for p in manifest_files()}
    assert len(built) == len(DOCUMENTS) + 1  # and the generated dashboard ConfigMap
    for doc in built:
        validate(doc)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == kustomization["namespace"]
    dashboard = find("ConfigMap", "kloudvault-dashboard", built)
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = dashboard["data"].values()
    assert json.loads(text) == json.loads((K8S / "monitoring" / "dashboard.json").read_text())


# -- a broken manifest is caught ----------------------------------------------------------------


def _deployment_with(change: str) -> dict[str, Any]:
    doc = copy.deepcopy(find("Deployment", "kloudvault"))
    container = doc["spec"]["template"]["spec"]["containers"][0]
    if change == "unknown spec field":
        doc["spec"]["replica"] = 3
    elif change == "unknown container field":
        container["readinessProbes"] = container["readinessProbe"]
    elif change == "unknown securityContext field":
        container["securityContext"]["readOnlyRootFS"] = True
    elif change == "wrong type":
        container["ports"][0]["containerPort"] = [7373]
    elif change == "string for an integer":
        doc["spec"]["revisionHistoryLimit"] = "ten"
    return doc


@pytest.mark.parametrize(
    "change",
    [
        "unknown spec field",
        "unknown container field",
        "unknown securityContext field",
        "wrong type",
        "string for an integer",
    ],
)
def test_broken_deployment_is_caught(change: str) -> None:
    with pytest.raises(ValidationError):
        validate(_deployment_with(change))


@pytest.mark.parametrize(
    ("kind", "name", "path", "value"),
    [
        ("ServiceMonitor", "kloudvault", ("spec", "endpoints", 0, "intervall"), "30s"),
        ("ServiceMonitor", "kloudvault", ("spec", "endpoints", 0, "interval"), 30),
        ("ServiceMonitor", "kloudvault", ("metadata", "label"), {"a": "b"}),
        ("PrometheusRule", "kloudvault", ("spec", "groups", 0, "rules", 0, "fore"), "5m"),
        ("NetworkPolicy", "kloudvault-gateway", ("spec", "egress", 0, "ports", 0, "port"), [53]),
        ("Ingress", "kloudvault", ("spec", "tls", 0, "secret"), "x"),
        ("HorizontalPodAutoscaler", "kloudvault", ("spec", "minReplicas"), "3"),
    ],
)
def test_broken_manifest_is_caught(
    kind: str, name: str, path: tuple[str | int, ...], value: object
) -> None:
    doc = copy.deepcopy(find(kind, name))
    validate(doc)
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


# -- the pieces agree ---------------------------------------------------------------------------


def test_gateway_deployment_probes_ports_and_settings() -> None:
    deploy = find("Deployment", "kloudvault")
    pod = deploy["spec"]["template"]
    assert GATEWAY_LABELS.items() <= pod["metadata"]["labels"].items()
    assert deploy["spec"]["selector"]["matchLabels"] == GATEWAY_LABELS
    container = gateway_container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] in READY_PATHS
    assert container["livenessProbe"]["httpGet"]["path"] in LIVE_PATHS
    assert container["startupProbe"]["httpGet"]["path"] in LIVE_PATHS
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == "s3"
    args = container["args"]
    for flag in (a for a in args if a.startswith("--")):
        assert flag in SETTINGS_FLAGS, flag
    listen = args[args.index("--listen") + 1]
    assert int(listen.rpartition(":")[2]) == ports["s3"]
    settings: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            settings |= find("ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            settings |= find("Secret", source["secretRef"]["name"])["stringData"]
    for name in settings:
        assert name in SETTINGS_ENV, name
    assert int(settings["KLOUDVAULT_METRICS_LISTEN"].rpartition(":")[2]) == ports["metrics"]
    assert settings["KLOUDVAULT_LOG_FORMAT"] == "json"
    assert settings["KLOUDVAULT_AUDIT_LOG"] == "-"
    assert settings["KLOUDVAULT_METADATA_URL"].startswith("postgresql://")
    # One worker process per CPU the pod gets.
    assert int(settings["KLOUDVAULT_WORKERS"]) == int(container["resources"]["limits"]["cpu"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts.values()) <= set(volumes)
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_gateway_runs_restricted() -> None:
    pod = find("Deployment", "kloudvault")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    security = gateway_container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert gateway_container()["resources"]["requests"]["cpu"]
    namespace = find("Namespace", "kloudvault")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # The namespace enforces it on the data stores too.
    for kind, name in (("StatefulSet", "kloudvault-postgres"), ("Deployment", "kloudvault-redis")):
        spec = find(kind, name)["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


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


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]?)", text.lower())
    assert match is not None, text
    number, unit = match.groups()
    scale: int = 1024 ** " kmg".index(unit or " ")
    return int(number) * scale


def test_ingress_fits_large_uploads() -> None:
    ingress = find("Ingress", "kloudvault")
    notes = ingress["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    body = notes[prefix + "proxy-body-size"]
    assert body == "0" or _size(body) >= GIB
    assert notes[prefix + "proxy-request-buffering"] == "off"  # streamed, not spooled
    # 1 GiB at 2 MB/s, the slowest link the timeouts are meant for, takes ~540 s; nginx's
    # timeouts bound the silence between two reads or writes, so these are generous.
    assert int(notes[prefix + "proxy-read-timeout"]) >= 600
    assert int(notes[prefix + "proxy-send-timeout"]) >= 600
    assert ingress["spec"]["tls"] and all(t["secretName"] for t in ingress["spec"]["tls"])
    tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    service_ports = {p["name"] for p in find("Service", "kloudvault")["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert (backend["name"], backend["port"]["name"]) == ("kloudvault", "s3")
            assert backend["port"]["name"] in service_ports
    domain = find("ConfigMap", "kloudvault")["data"]["KLOUDVAULT_DOMAIN"]
    assert {domain, f"*.{domain}"} == tls_hosts


def test_autoscaler_and_disruption_budget() -> None:
    hpa = find("HorizontalPodAutoscaler", "kloudvault")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "kloudvault",
    }
    assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    # The autoscaler owns the replica count: a re-apply must not reset it.
    assert "replicas" not in find("Deployment", "kloudvault")["spec"]
    pdb = find("PodDisruptionBudget", "kloudvault")["spec"]
    assert pdb["selector"]["matchLabels"] == GATEWAY_LABELS
    assert pdb.get("maxUnavailable", 1) < hpa["minReplicas"]


def test_network_policy_lets_the_gateway_reach_only_its_dependencies() -> None:
    policy = find("NetworkPolicy", "kloudvault-gateway")["spec"]
    assert policy["podSelector"]["matchLabels"] == GATEWAY_LABELS
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    inbound = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert inbound == {"s3", "metrics"}
    egress = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert {("UDP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 443)} <= egress
    for rule in policy["egress"]:
        assert rule["to"] and rule["ports"], "every egress rule names a peer and its ports"
    for store, port in (("postgres", 5432), ("redis", 6379)):
        guard = find("NetworkPolicy", f"kloudvault-{store}")["spec"]
        assert guard["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == store
        ((peer,),) = [rule["from"] for rule in guard["ingress"]]
        assert peer == {"podSelector": {"matchLabels": GATEWAY_LABELS}}
        assert [p["port"] for rule in guard["ingress"] for p in rule["ports"]] == [port]


def test_service_monitor_scrapes_the_metrics_port() -> None:
    monitor = find("ServiceMonitor", "kloudvault")["spec"]
    service = find("Service", "kloudvault")
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_secret_urls_point_at_the_services() -> None:
    secret = find("Secret", "kloudvault")["stringData"]
    assert "@kloudvault-postgres:5432/" in secret["KLOUDVAULT_METADATA_URL"]
    assert secret["KLOUDVAULT_REDIS_URL"].startswith("redis://kloudvault-redis:6379")


def test_redis_runs_without_persistence() -> None:
    (container,) = find("Deployment", "kloudvault-redis")["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--save") + 1] == ""
    assert args[args.index("--appendonly") + 1] == "no"
    assert args[args.index("--maxmemory-policy") + 1] in ("volatile-lru", "noeviction")


def test_dockerfile_builds_the_image_the_manifests_run() -> None:
    lines = [
        line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines() if line.strip()
    ]
    entrypoint = json.loads(next(line for line in lines if line.startswith("ENTRYPOINT"))[10:])
    assert entrypoint == ["kloudvault", "serve"]
    user = [line.split()[1] for line in lines if line.startswith("USER ")][-1]
    uid = int(user.partition(":")[0])
    pod = find("Deployment", "kloudvault")["spec"]["template"]["spec"]
    assert uid != 0 and uid == pod["securityContext"]["runAsUser"]
    assert any("pip install" in line and line.endswith(" .") for line in lines)
    image = gateway_container()["image"].rpartition(":")[0]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert image in {i["name"] for i in kustomization["images"]}


# -- the PrometheusRule, generated from the rule file ---------------------------------------------

_RULE_HEADER = """\
# GENERATED from monitoring/alerts.yaml by `python -m tests.unit.test_k8s_manifests`:
# edit the rule file, then run that. The Prometheus Operator's form of the same groups.
"""


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as `|` blocks, as the rule file writes them."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_BlockDumper.add_representer(str, _str)


def prometheus_rule_text() -> str:
    groups = yaml.safe_load(RULE_FILE.read_text())["groups"]
    rule = {
        "apiVersion": CRD_API,
        "kind": "PrometheusRule",
        "metadata": {"name": "kloudvault", "labels": GATEWAY_LABELS},
        "spec": {"groups": groups},
    }
    return _RULE_HEADER + str(yaml.dump(rule, Dumper=_BlockDumper, sort_keys=False, width=100))


def test_prometheus_rule_is_the_rule_file() -> None:
    assert PROMETHEUS_RULE.read_text() == prometheus_rule_text(), (
        "k8s/prometheusrule.yaml is stale: python -m tests.unit.test_k8s_manifests"
    )


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(prometheus_rule_text())
