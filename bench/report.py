"""Markdown tables of a bench run: each target's figures and its ratio to the first target.

Ratios are target / reference for throughput (ops/s, MB/s: above 1 is faster) and
reference / target for latency (p50, p99: above 1 is faster too), so every ratio reads the
same way: > 1.00 means better than the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.loadgen import PhaseResult

MIB = 1024 * 1024


def _ratio(value: float, reference: float, *, lower_is_better: bool = False) -> str:
    if not value or not reference:
        return "-"
    ratio = reference / value if lower_is_better else value / reference
    return f"{ratio:.2f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 10 else f"{seconds * 1000:.0f}"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _value(phase: str, r: PhaseResult) -> float:
    """The throughput figure of a phase: entries/s (listing), MB/s (bodies), else ops/s."""
    if phase.startswith("list"):
        return r.received / r.seconds if r.seconds else 0.0
    if r.bytes and not phase.startswith("small"):
        return r.mb_per_s
    return r.ops_per_s


def _throughput(phase: str, r: PhaseResult) -> str:
    unit = "entries/s" if phase.startswith("list") else (
        "MB/s" if r.bytes and not phase.startswith("small") else "ops/s")  # fmt: skip
    return f"{_fmt(_value(phase, r))} {unit}"


def phase_table(
    phases: Sequence[str], results: dict[tuple[str, str], PhaseResult], targets: Sequence[str]
) -> str:
    """One row per phase: throughput, p50, p99 per target and the ratio columns."""
    ref = targets[0]
    others = targets[1:]
    head = ["phase"]
    for t in targets:
        head += [f"{t} thr", f"{t} p50 ms", f"{t} p99 ms"]
    for t in others:
        head += [f"{t}/{ref} thr", f"{t}/{ref} p50", f"{t}/{ref} p99"]
    head += ["gen CPU (cores)", "errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for phase in phases:
        row = [phase]
        if (ref, phase) not in results:
            continue
        cpu, errors = [], []
        for t in targets:
            r = results.get((t, phase))
            if r is None:
                row += ["-", "-", "-"]
                continue
            thr = _throughput(phase, r)
            row += [thr, _ms(r.percentile(50)), _ms(r.percentile(99))]
            cpu.append(f"{r.generator_cores:.2f}")
            errors.append(str(r.errors))
        base = results[(ref, phase)]
        for t in others:
            r = results.get((t, phase))
            if r is None:
                row += ["-", "-", "-"]
                continue
            row += [
                _ratio(_value(phase, r), _value(phase, base)),
                _ratio(r.percentile(50), base.percentile(50), lower_is_better=True),
                _ratio(r.percentile(99), base.percentile(99), lower_is_better=True),
            ]
        row += [" / ".join(cpu), " / ".join(errors)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def server_table(
    phases: Sequence[str], results: dict[tuple[str, str], PhaseResult], targets: Sequence[str]
) -> str:
    """Server CPU seconds per phase and peak RSS (growth over the phase's start)."""
    head = ["phase"]
    for t in targets:
        head += [f"{t} server CPU s", f"{t} RSS peak MiB (growth)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for phase in phases:
        row = [phase]
        for t in targets:
            r = results.get((t, phase))
            if r is None or r.server_cpu is None:
                row += ["-", "-"]
                continue
            rss = "-"
            if r.server_rss_peak is not None and r.server_rss_base is not None:
                growth = (r.server_rss_peak - r.server_rss_base) / MIB
                rss = f"{r.server_rss_peak / MIB:.0f} (+{growth:.0f})"
            row += [f"{r.server_cpu:.1f}", rss]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
