"""conformance.matrix: aggregation of results into cells and its Markdown/JSON renderings."""

from __future__ import annotations

import json

from conformance.matrix import Cell, Matrix, dumps, render_markdown, to_json
from conformance.runner import FAIL, NOT_SUPPORTED, PASS, Result, RunInfo


def r(feature: str, client: str, status: str, name: str = "s", detail: str = "") -> Result:
    return Result(feature, client, name, status, 0.5, detail)


RESULTS = [
    r("objects", "boto3", PASS, "a"),
    r("objects", "boto3", PASS, "b"),
    r("objects", "rclone", FAIL, "c", "expected 200, got 500\nmore lines"),
    r("objects", "rclone", PASS, "d"),
    r("ranges", "s3cmd", NOT_SUPPORTED, "unsupported", "no byte ranges"),
    r("ranges", "boto3", PASS),
    r("versioning", "boto3", FAIL, "v", "NotImplemented | pipe"),
]


def test_cell_status_precedence() -> None:
    assert Cell(passed=2).status == PASS
    assert Cell(passed=2, failed=1).status == FAIL
    assert Cell(unsupported=1).status == NOT_SUPPORTED
    assert Cell(passed=1, unsupported=1).status == PASS
    assert Cell().status == ""


def test_cell_text() -> None:
    assert Cell(passed=3).text() == "pass 3"
    assert Cell(passed=2, failed=1).text() == "**FAIL** 1/3"
    assert Cell(unsupported=1).text() == "n/s"
    assert Cell().text() == ""


def test_matrix_aggregates_cells_and_rows() -> None:
    m = Matrix(RESULTS)
    assert m.cell("objects", "boto3") == Cell(passed=2)
    assert m.cell("objects", "rclone") == Cell(passed=1, failed=1)
    assert m.feature_status("objects") == FAIL
    assert m.feature_status("ranges") == PASS
    assert m.failing_features() == ["objects", "versioning"]
    assert m.totals() == {PASS: 4, FAIL: 2, NOT_SUPPORTED: 1}
    # Rows and columns keep the registry's order, only those with results.
    assert m.features == ["objects", "ranges", "versioning"]
    assert m.clients == ["boto3", "rclone", "s3cmd"]


def test_markdown_table_and_failures() -> None:
    info = RunInfo("http://127.0.0.1:1", "2026-01-01T00:00:00Z", 12.0, True, tuple(RESULTS))
    text = render_markdown(Matrix(RESULTS), info)
    lines = text.splitlines()
    assert lines[0] == "# S3 conformance: http://127.0.0.1:1 (quick)"
    assert "| feature | status | boto3 | rclone | s3cmd |" in lines
    assert "| objects | FAIL | pass 2 | **FAIL** 1/2 |  |" in lines
    assert "| ranges | pass | pass 1 |  | n/s |" in lines
    assert "## Failures" in lines
    # Only a failure's first line, with table-breaking pipes escaped.
    assert "- `objects/rclone/c`: expected 200, got 500" in lines
    assert "- `versioning/boto3/v`: NotImplemented \\| pipe" in lines


def test_markdown_without_failures_has_no_failure_section() -> None:
    text = render_markdown(Matrix([r("objects", "boto3", PASS)]))
    assert "## Failures" not in text
    assert "1 passed, 0 failed, 0 not supported" in text


def test_json_document() -> None:
    info = RunInfo("http://e", "t", 1.0, False, tuple(RESULTS))
    doc = to_json(Matrix(RESULTS), info)
    assert doc["endpoint"] == "http://e" and doc["quick"] is False
    assert doc["features"]["objects"]["status"] == FAIL
    assert doc["features"]["objects"]["clients"]["rclone"] == {
        "status": FAIL,
        "passed": 1,
        "failed": 1,
        "unsupported": 0,
    }
    # Empty cells are left out; n/s cells are kept.
    assert "s3cmd" not in doc["features"]["objects"]["clients"]
    assert doc["features"]["ranges"]["clients"]["s3cmd"]["status"] == NOT_SUPPORTED
    assert len(doc["results"]) == len(RESULTS)
    assert json.loads(dumps(Matrix(RESULTS), info)) == doc
