"""The skip-scan driver (gateway/meta/skip_scan.py) against probes computed in Python: what
it lists, and that a probe read from a bound the walk did not ask for is caught."""

from __future__ import annotations

import bisect
from typing import Any

from gateway.meta.base import ListPage
from gateway.meta.listing import Seek, rolled_up, successor
from gateway.meta.skip_scan import Probe, SkipScanSql, list_skipping
from gateway.meta.sql import Tx

KEYS = sorted(["a/1", "a/2", "b", "c/x/1", "c/y", "d", "e/", "e/f"])


def _after(key: str) -> str:
    return key + "\x00"


def _probes(lower: str, upper: str | None, steps: int, *, delimiter: str) -> list[Probe]:
    """What a store's recursive query returns: the walk's seeks, computed ahead."""
    found: list[Probe] = []
    bound: str | None = lower
    while bound is not None and len(found) < steps:
        i = bisect.bisect_left(KEYS, bound)
        key = KEYS[i] if i < len(KEYS) and (upper is None or KEYS[i] < upper) else None
        found.append((bound, key))
        if key is None:
            break
        cp = rolled_up(key, "", delimiter)
        bound = _after(key) if cp is None else successor(cp)
    return found


def _run(tx: Tx[Any]) -> Any:
    try:
        op = next(tx)
    except StopIteration as done:
        return done.value
    raise AssertionError(f"unexpected statement {op}")


def _row(key: str) -> tuple[Any, ...]:
    return (key, "null", 0.0, 1, "e", "o", "STANDARD", "{}", None)


def _sql(skew: str = "", log: list[str] | None = None) -> SkipScanSql:
    """Probes (their bounds shifted by `skew`: a store computing other bounds) and range
    reads, each logged in `log` by its first key."""
    seen = [] if log is None else log

    def probe(lower: str, upper: str | None, steps: int) -> Tx[list[Probe]]:
        yield from ()
        seen.append(f"probe {lower}")
        found = _probes(lower, upper, steps, delimiter="/")
        return [(b + skew, None if k is None else _row(k)) for b, k in found]

    def read_range(seek: Seek, after: Any, n: int) -> Tx[list[Any]]:
        yield from ()
        if after is not None:
            i = bisect.bisect_right(KEYS, after[0])
        elif seek.inclusive:
            i = bisect.bisect_left(KEYS, seek.lower)
        else:
            i = bisect.bisect_right(KEYS, seek.lower)
        found = [_row(k) for k in KEYS[i : i + n] if seek.upper is None or k < seek.upper]
        seen.append(f"range {found[0][0] if found else None}")
        return found

    return SkipScanSql(probe, _after, read_range)


def _page(sql: SkipScanSql, start_after: str = "", max_keys: int = 1000) -> ListPage | None:
    page: ListPage | None = _run(
        list_skipping(
            sql,
            prefix="",
            delimiter="/",
            start_after=start_after,
            max_keys=max_keys,
        )
    )
    return page


def test_lists_what_the_walk_decides() -> None:
    page = _page(_sql())
    assert page is not None
    assert [o.key for o in page.objects] == ["b", "d"]
    assert page.common_prefixes == ["a/", "c/", "e/"]
    assert not page.is_truncated
    page = _page(_sql(), start_after="a/", max_keys=2)
    assert page is not None
    assert ([o.key for o in page.objects], page.common_prefixes) == (["b"], ["c/"])
    assert page.is_truncated and page.next_marker == "c/"


def test_a_probe_from_another_bound_is_a_mismatch() -> None:
    assert _page(_sql(skew="!")) is None


def test_range_reads_until_a_key_rolls_up() -> None:
    log: list[str] = []
    page = _page(_sql(log=log), start_after="a/2")
    assert page is not None
    assert [o.key for o in page.objects] == ["b", "d"]
    assert page.common_prefixes == ["c/", "e/"]
    # "b" then "c/x/1" (rolls up) by range; the rest by probes from successor("c/").
    assert log == ["range b", "probe c0"]
