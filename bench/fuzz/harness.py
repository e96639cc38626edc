"""The fuzz target registry and the contract every target is held to.

A target is `run(data: bytes) -> None` plus the exception types it may raise. Inputs are
structured with atheris.FuzzedDataProvider so that one byte string decides every argument
(method, headers, split points, ...); libFuzzer then mutates towards new coverage.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CORPUS_ROOT = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    allowed: tuple[type[BaseException], ...]  # the documented errors; others are findings
    tokens: tuple[bytes, ...] = ()  # the format's keywords: a dictionary for the mutators

    @property
    def corpus(self) -> Path:
        return CORPUS_ROOT / self.name

    def seeds(self) -> list[bytes]:
        if not self.corpus.is_dir():
            return []
        return [p.read_bytes() for p in sorted(self.corpus.iterdir()) if p.is_file()]


@dataclass(frozen=True)
class Finding:
    target: str
    data: bytes
    error: BaseException
    where: str  # "ExcType at file:line" of the innermost frame: the dedup key

    def describe(self) -> str:
        text = "".join(traceback.format_exception(self.error))
        return f"{self.where}\ninput: {self.data[:300]!r}\n{text}"


def check(target: Target, data: bytes) -> Finding | None:
    """Run `target` on `data`; the finding if it broke its contract."""
    try:
        target.run(data)
    except target.allowed:
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: B036 - MemoryError/RecursionError are findings too
        tb = exc.__traceback__
        where = "?"
        while tb is not None:
            frame = tb.tb_frame.f_code
            where = f"{Path(frame.co_filename).name}:{tb.tb_lineno}"
            tb = tb.tb_next
        return Finding(target.name, data, exc, f"{type(exc).__name__} at {where}")
    return None


def all_targets() -> dict[str, Target]:
    """Every target by name (importing the families registers nothing globally)."""
    from bench.fuzz import chunked, headers, policy, post, signatures, xml

    targets: dict[str, Target] = {}
    for family in (signatures, chunked, xml, headers, policy, post):
        for target in family.targets():
            targets[target.name] = target
    return targets
