"""gateway.buffers: buffers given back are handed out again, up to KEEP_BYTES."""

from __future__ import annotations

import pytest

from gateway import buffers


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buffers, "_free", {})
    monkeypatch.setattr(buffers, "_kept", 0)


def test_a_buffer_given_back_is_taken_again() -> None:
    first = buffers.take(1000)
    assert len(first) == 1000
    buffers.give(first)
    assert buffers.take(999) is not first  # another size: a new one
    assert buffers.take(1000) is first
    assert buffers.take(1000) is not first  # handed out once


def test_at_most_keep_bytes_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buffers, "KEEP_BYTES", 2500)
    given = [bytearray(1000) for _ in range(3)]
    for buf in given:
        buffers.give(buf)
    taken = [buffers.take(1000) for _ in range(3)]
    assert sum(any(t is g for g in given) for t in taken) == 2
