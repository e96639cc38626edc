"""Markdown tables of a bench run: each target's figures and its ratio to the references
(the first target, and any HTTP ceiling such as nginx).

Ratios are target / reference for throughput (ops/s, MB/s: above 1 is faster) and
reference / target for latency (p50, p99: above 1 is faster too), so every ratio reads the
same way: > 1.00 means better than the reference. Server CPU is given per GiB moved for
body-heavy phases and per operation for the others (small objects, listing pages).
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


def _pairs(targets: Sequence[str], references: Sequence[str]) -> list[tuple[str, str]]:
    """(target, reference) ratio columns: everyone against the first target, the targets
    that are no reference against each further reference."""
    pairs = [(t, targets[0]) for t in targets[1:]]
    for ref in references[1:]:
        pairs += [(t, ref) for t in targets if t not in references]
    return pairs


def phase_table(
    phases: Sequence[str],
    results: dict[tuple[str, str], PhaseResult],
    targets: Sequence[str],
    references: Sequence[str] = (),
) -> str:
    """One row per phase: throughput, p50, p99 per target and the ratio columns."""
    pairs = _pairs(targets, references or targets[:1])
    head = ["phase"]
    for t in targets:
        head += [f"{t} thr", f"{t} p50 ms", f"{t} p99 ms"]
    for t, ref in pairs:
        head += [f"{t}/{ref} thr", f"{t}/{ref} p50", f"{t}/{ref} p99"]
    head += ["gen CPU (cores)", "errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for phase in phases:
        row = [phase]
        if not any((t, phase) in results for t in targets):
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
        for t, ref in pairs:
            r, base = results.get((t, phase)), results.get((ref, phase))
            if r is None or base is None:
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


def _cpu_per_unit(phase: str, r: PhaseResult) -> str:
    cpu = r.server_cpu or 0.0
    if r.bytes >= MIB * 64 and not phase.startswith(("small", "list")):
        return f"{cpu / (r.bytes / 2**30):.2f} s/GiB"
    unit = "page" if phase.startswith("list") else "op"
    return f"{cpu * 1000 / r.requests:.2f} ms/{unit}" if r.requests else "-"


def server_table(
    phases: Sequence[str], results: dict[tuple[str, str], PhaseResult], targets: Sequence[str]
) -> str:
    """Server CPU seconds per phase (and per GiB or per operation) and peak RSS of the
    server's process tree (growth over the phase's start)."""
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
            row += [f"{r.server_cpu:.1f} ({_cpu_per_unit(phase, r)})", rss]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
