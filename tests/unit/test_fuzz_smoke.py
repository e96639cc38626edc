"""The fuzz targets' CI run (bench/fuzz): every target holds its contract on its seeds and
on a bounded number of their mutations, and the atheris runner still works.

The long, coverage-guided run is `python -m bench.fuzz` (bench/fuzz/RESULTS.md). Here the
deterministic mutator of bench/fuzz/mutate.py stands in for libFuzzer so that each target
costs a fraction of a second in-process; a finding fails with its input and traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.fuzz import mutate
from bench.fuzz.harness import Finding, all_targets, check

TARGETS = all_targets()
INPUTS_PER_TARGET = 1000


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_smoke(name: str) -> None:
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds, f"no seed corpus in {target.corpus}"
    findings: dict[str, Finding] = {}
    for data in mutate.inputs(seeds, INPUTS_PER_TARGET, tokens=target.tokens):
        finding = check(target, data)
        if finding is not None:
            findings.setdefault(finding.where, finding)
    assert not findings, "\n\n".join(f.describe() for f in findings.values())


def test_atheris_runner_counts_runs_and_crashes(tmp_path: Path) -> None:
    # One short libFuzzer run in its own process, as the long run does it.
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "bench.fuzz", "--target", "range", "--runs", "1000"]
    cmd += ["--artifacts", str(tmp_path)]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "target=range runs=1000 crashes=0 unique=0" in done.stdout
