"""The feature x client matrix: from Results to Markdown and JSON.

A cell aggregates the scenarios of one (feature, client): "fail" if any failed, else
"pass" if any passed, else "n/s" if the client cannot express the feature; a cell with no
scenario at all is blank. A feature's row status is the same rule over its cells.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.registry import CLIENTS, FEATURES
from conformance.runner import FAIL, NOT_SUPPORTED, PASS, Result, RunInfo

EMPTY = ""
_SYMBOL = {PASS: "pass", FAIL: "FAIL", NOT_SUPPORTED: "n/s", EMPTY: ""}


@dataclass(frozen=True)
class Cell:
    passed: int = 0
    failed: int = 0
    unsupported: int = 0

    @property
    def status(self) -> str:
        if self.failed:
            return FAIL
        if self.passed:
            return PASS
        if self.unsupported:
            return NOT_SUPPORTED
        return EMPTY

    def text(self) -> str:
        status = self.status
        if status == PASS:
            return f"pass {self.passed}"
        if status == FAIL:
            return f"**FAIL** {self.failed}/{self.failed + self.passed}"
        return _SYMBOL[status]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status or None,
            "passed": self.passed,
            "failed": self.failed,
            "unsupported": self.unsupported,
        }


def _combine(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    for status in (FAIL, PASS, NOT_SUPPORTED):
        if status in seen:
            return status
    return EMPTY


class Matrix:
    def __init__(self, results: Sequence[Result]) -> None:
        self.results = tuple(results)
        counts: dict[tuple[str, str], list[int]] = {}
        for r in self.results:
            slot = counts.setdefault((r.feature, r.client), [0, 0, 0])
            slot[(PASS, FAIL, NOT_SUPPORTED).index(r.status)] += 1
        self.cells = {k: Cell(*v) for k, v in counts.items()}
        self.features = [f for f in FEATURES if any(k[0] == f for k in self.cells)]
        self.clients = [c for c in CLIENTS if any(k[1] == c for k in self.cells)]

    def cell(self, feature: str, client: str) -> Cell:
        return self.cells.get((feature, client), Cell())

    def feature_status(self, feature: str) -> str:
        return _combine(self.cell(feature, c).status for c in self.clients)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == FAIL]

    def failing_features(self) -> list[str]:
        return [f for f in self.features if self.feature_status(f) == FAIL]

    def totals(self) -> dict[str, int]:
        out = {PASS: 0, FAIL: 0, NOT_SUPPORTED: 0}
        for r in self.results:
            out[r.status] += 1
        return out


def render_markdown(matrix: Matrix, info: RunInfo | None = None) -> str:
    lines: list[str] = []
    if info is not None:
        mode = " (quick)" if info.quick else ""
        lines += [
            f"# S3 conformance: {info.endpoint}{mode}",
            "",
            f"Run {info.started}, {info.seconds:.0f} s.",
            "",
        ]
    totals = matrix.totals()
    lines += [
        f"Scenarios: {totals[PASS]} passed, {totals[FAIL]} failed, "
        f"{totals[NOT_SUPPORTED]} not supported by the client.",
        "",
        "Cells: `pass N` (N scenarios passed), `FAIL f/n` (f of n failed), `n/s` (the client "
        "cannot express the feature), blank (no scenario).",
        "",
    ]
    header = ["feature", "status", *matrix.clients]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for feature in matrix.features:
        row = [feature, _SYMBOL[matrix.feature_status(feature)]]
        row += [matrix.cell(feature, c).text() for c in matrix.clients]
        lines.append("| " + " | ".join(row) + " |")
    failures = matrix.failures()
    if failures:
        lines += ["", "## Failures", ""]
        for r in failures:
            first = r.detail.strip().splitlines()[0] if r.detail.strip() else "(no detail)"
            lines.append(f"- `{r.feature}/{r.client}/{r.scenario}`: {_md_escape(first[:300])}")
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_json(matrix: Matrix, info: RunInfo | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if info is not None:
        doc.update(
            endpoint=info.endpoint, started=info.started, seconds=info.seconds, quick=info.quick
        )
    doc["clients"] = list(matrix.clients)
    doc["features"] = {
        f: {
            "status": matrix.feature_status(f) or None,
            "clients": {
                c: matrix.cell(f, c).as_dict()
                for c in matrix.clients
                if matrix.cell(f, c).status != EMPTY
            },
        }
        for f in matrix.features
    }
    doc["totals"] = matrix.totals()
    doc["results"] = [r.as_dict() for r in matrix.results]
    return doc


def dumps(matrix: Matrix, info: RunInfo | None = None) -> str:
    return json.dumps(to_json(matrix, info), indent=2, sort_keys=False) + "\n"
