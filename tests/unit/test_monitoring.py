"""k8s/monitoring/: every PromQL expression of the Grafana dashboard and of the alert rules
names only series the gateway exports (gateway/metrics/series.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.metrics.series import PREFIX, exported_names

yaml = pytest.importorskip("yaml")

MONITORING = Path(__file__).resolve().parents[2] / "k8s" / "monitoring"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
# by/without/on/ignoring/group_left/group_right (label, ...): label names, not series.
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_TEMPLATE = re.compile(r"\$\{?\w+\}?")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
_KEYWORDS |= {"group_left", "group_right", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The series an expression reads (functions, keywords and label names left out)."""
    expr = re.sub(r"label_values\((\w+)\s*,\s*\w+\)", r"\1", expr)
    for pattern in (_STRING, _MATCHERS, _RANGE, _GROUPING, _TEMPLATE):
        expr = pattern.sub(" ", expr)
    names = set()
    for match in _IDENT.finditer(expr):
        rest = expr[match.end() :].lstrip()
        if rest.startswith("(") or match.group().lower() in _KEYWORDS:
            continue  # a function call or a keyword
        names.add(match.group())
    return names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ("sum by (operation) (rate(a_total[5m]))", {"a_total"}),
        (
            'sum(rate(a_total{status=~"5.."}[5m])) / sum(rate(b_total[$__rate_interval]))',
            {"a_total", "b_total"},
        ),
        ("histogram_quantile(0.99, sum by (le, x) (rate(h_bucket[5m]))) > 2", {"h_bucket"}),
        ("min by (instance) (g) == 0 and on(instance) other", {"g", "other"}),
        ("label_values(kloudvault_bucket_bytes, bucket)", {"kloudvault_bucket_bytes"}),
        ('topk(10, max by (bucket) (m{bucket=~"$bucket"}))', {"m"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def _dashboard_exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "expr" and isinstance(value, str):
                yield value
            elif name == "query" and isinstance(value, str) and "label_values" in value:
                yield value
            else:
                yield from _dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dashboard_exprs(item)


def dashboard_exprs() -> list[str]:
    return list(_dashboard_exprs(json.loads((MONITORING / "dashboard.json").read_text())))


def alert_exprs() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_series_is_exported(source: str) -> None:
    exprs = dashboard_exprs() if source == "dashboard" else alert_exprs()
    assert exprs
    exported = exported_names()
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        unknown = names - exported
        assert not unknown, f"{expr!r} reads series the gateway does not export: {unknown}"


def test_every_exported_family_is_on_the_dashboard() -> None:
    """The dashboard shows every series (histograms by their buckets)."""
    shown = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    families = {n for n in exported_names() if not n.endswith(("_created", "_sum", "_count"))}
    assert all(n.startswith(PREFIX) for n in families)
    assert families <= shown, sorted(families - shown)


def test_alert_rules_are_complete() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"].startswith("KloudVault")
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert rule["annotations"]["summary"]
