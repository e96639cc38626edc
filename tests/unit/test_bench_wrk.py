"""bench/wrk.py's pure parts: the Lua script it hands wrk and the summary it reads back."""

from __future__ import annotations

import pytest

from bench.loadgen import PhaseResult
from bench.wrk import lua_script, parse_output


def test_lua_script_lists_every_path_verbatim() -> None:
    paths = ["/b/k1?X-Amz-Signature=ab%2Fcd", "/b/k%20two?x=1&y=%25"]
    script = lua_script(paths)
    for path in paths:
        assert f"[==[{path}]==]" in script
    assert "i = i % #paths + 1" in script
    assert '"KVWRK %d %d %d\\n"' in script


def test_lua_script_refuses_what_it_cannot_quote() -> None:
    with pytest.raises(ValueError):
        lua_script(["/b/k]==]x"])


def test_parse_output_reads_the_summary_and_percentiles() -> None:
    text = "Running 5s test\nKVWRK 1200 5000000 3\n" + "".join(
        f"KVLAT {p * 100}\n" for p in range(1, 1001)
    )
    result = PhaseResult("kv", "small GET", 64)
    parse_output(text, result)
    assert (result.requests, result.errors, result.seconds) == (1200, 3, 5.0)
    assert result.ops_per_s == 240.0
    assert result.percentile(50) == pytest.approx(0.050)
    assert result.percentile(99) == pytest.approx(0.099)


def test_parse_output_without_a_summary_fails() -> None:
    with pytest.raises(RuntimeError):
        parse_output("unable to connect", PhaseResult("kv", "small GET", 64))
