"""`python -m bench.fuzz --target NAME|all --runs N | --seconds S [--engine atheris|mutate]`.

Runs one fuzz target (bench/fuzz/harness.py) and prints a line with its iterations and
crashes. With atheris (the default) the target's modules are instrumented for coverage,
libFuzzer mutates from the seed corpus (bench/fuzz/corpus/<target>/, never written to: new
inputs go to a temporary directory), and a contract breach is recorded and the run goes
on, so that one run counts every distinct crash; each crashing input is saved under
--artifacts. Each target fuzzes in a child process (atheris.Fuzz ends its process); the
runs are libFuzzer's count. `--engine mutate` uses bench/fuzz/mutate.py, without atheris.

Not part of the test suite (tests/unit/test_fuzz_smoke.py is the CI run): run it by hand,
under `nice`, and record the figures in bench/fuzz/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# These import no project module (the child must instrument those before they load).
from bench.fuzz import mutate
from bench.fuzz.harness import Finding, all_targets, check

INSTRUMENTED = ["auth", "gateway", "bench.fuzz"]
_EXECUTED = re.compile(rb"stat::number_of_executed_units:\s*(\d+)")


class Stats:
    """Runs and crashes of one target; `save` keeps them in a JSON file for the parent."""

    def __init__(self, target: str, artifacts: Path) -> None:
        self.target = target
        self.artifacts = artifacts
        self.runs = 0
        self.crashes = 0
        self.unique: dict[str, str] = {}  # where -> description of its first input
        self.started = time.monotonic()

    def record(self, finding: Finding) -> None:
        self.crashes += 1
        if finding.where not in self.unique:
            self.unique[finding.where] = finding.describe()
            self.artifacts.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha1(finding.data).hexdigest()[:16]
            (self.artifacts / f"crash-{name}").write_bytes(finding.data)
            print(f"\n=== FINDING in {self.target}: {finding.describe()}", file=sys.stderr)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"crashes": self.crashes, "unique": self.unique}))

    def report(self) -> str:
        seconds = time.monotonic() - self.started
        lines = [
            f"target={self.target} runs={self.runs} crashes={self.crashes} "
            f"unique={len(self.unique)} seconds={seconds:.1f} "
            f"rate={self.runs / max(seconds, 1e-9):.0f}/s"
        ]
        return "\n".join(lines + [f"  {where}" for where in self.unique])


def _child_atheris(name: str, budget: str, artifacts: Path, stats_file: Path) -> None:
    """In the child: instrument, then hand over to libFuzzer (which ends the process)."""
    import atheris

    # Only modules imported inside this block are instrumented for coverage.
    with atheris.instrument_imports(include=INSTRUMENTED):
        target = all_targets()[name]
    stats = Stats(name, artifacts)
    stats.save(stats_file)

    def one_input(data: bytes) -> None:
        finding = check(target, data)
        if finding is not None:
            stats.record(finding)
            stats.save(stats_file)

    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    argv = [sys.argv[0], "-max_len=8192", "-timeout=20", "-rss_limit_mb=2048"]
    # The target's keywords and the generic tokens (non-ASCII digits, CR/LF, ...).
    dictionary = work.parent / f"{work.name}.dict"
    tokens = mutate.TOKENS + target.tokens
    dictionary.write_text("".join(f'"{_dict_escape(t)}"\n' for t in tokens))
    argv.append(f"-dict={dictionary}")
    argv += ["-print_final_stats=1", budget, str(work), str(target.corpus)]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def _dict_escape(token: bytes) -> str:
    """A libFuzzer dictionary entry: printable ASCII as is, the rest as \\xNN."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02X}" for b in token)


def _run_atheris(name: str, budget: str, artifacts: Path) -> int:
    """Fuzz `name` in a child process; report its runs (libFuzzer's count) and crashes."""
    stats = Stats(name, artifacts)
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = Path(tmp) / "stats.json"
        log = Path(tmp) / "libfuzzer.log"
        cmd = [sys.executable, "-m", "bench.fuzz", "--target", name, f"--child={budget}"]
        cmd += ["--artifacts", str(artifacts), "--stats-file", str(stats_file)]
        # The child's working corpus and dictionary go to this directory too, and go with it.
        env = {**os.environ, "TMPDIR": tmp}
        with log.open("wb") as out:
            code = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False
            ).returncode
        text = log.read_bytes()
        executed = _EXECUTED.search(text)
        if code != 0 or executed is None or not stats_file.exists():
            # libFuzzer stops on what the harness cannot catch: a hang past -timeout, memory
            # past -rss_limit_mb, a native crash. Those are findings too; its log says which.
            sys.stderr.write(text[-4000:].decode(errors="replace"))
            print(f"target={name} libFuzzer stopped (exit {code}): see its log above")
            return 1
        saved = json.loads(stats_file.read_text())
    stats.runs = int(executed.group(1))
    stats.crashes = saved["crashes"]
    stats.unique = saved["unique"]
    print(stats.report(), flush=True)
    for description in stats.unique.values():
        print(description, file=sys.stderr)
    return 1 if stats.crashes else 0


def _run_mutate(
    name: str, runs: int | None, seconds: int | None, artifacts: Path, seed: int
) -> int:
    target = all_targets()[name]
    stats = Stats(name, artifacts)
    deadline = time.monotonic() + seconds if seconds is not None else None
    count = runs if runs is not None else 1 << 62
    for data in mutate.inputs(target.seeds(), count, seed=seed, tokens=target.tokens):
        stats.runs += 1
        finding = check(target, data)
        if finding is not None:
            stats.record(finding)
        if deadline is not None and stats.runs % 256 == 0 and time.monotonic() > deadline:
            break
    print(stats.report(), flush=True)
    return 1 if stats.crashes else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--target", required=True, help="a target name, or 'all', or 'list'")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--runs", type=int)
    budget.add_argument("--seconds", type=int)
    parser.add_argument("--engine", choices=("atheris", "mutate"), default="atheris")
    default_artifacts = Path(tempfile.gettempdir()) / "kloudvault-fuzz"
    parser.add_argument("--artifacts", type=Path, default=default_artifacts)
    parser.add_argument("--seed", type=int, default=0, help="the mutate engine's random seed")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # libFuzzer's budget flag
    parser.add_argument("--stats-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        # Nothing of the project may be imported before this: it must be instrumented.
        _child_atheris(args.target, args.child, args.artifacts, args.stats_file)
        return 0  # not reached: libFuzzer exits
    if args.runs is None and args.seconds is None:
        args.runs = 10_000
    names = list(all_targets())
    if args.target == "list":
        print("\n".join(names))
        return 0
    chosen = names if args.target == "all" else [args.target]
    if args.target not in names and args.target != "all":
        parser.error(f"unknown target {args.target!r}; --target list shows them")
    failed = 0
    for name in chosen:
        artifacts = args.artifacts / name
        if args.engine == "atheris":
            flag = (
                f"-runs={args.runs}" if args.runs is not None else f"-max_total_time={args.seconds}"
            )
            failed |= _run_atheris(name, flag, artifacts)
        else:
            failed |= _run_mutate(name, args.runs, args.seconds, artifacts, args.seed)
    return failed


if __name__ == "__main__":
    sys.exit(main())
