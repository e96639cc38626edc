"""backends.buffering: the batch size shrinks as uploads share the budget."""

from __future__ import annotations

import pytest

from backends.buffering import BufferBudget

KiB = 1024


@pytest.mark.parametrize(
    ("active", "expected", "pipelined"),
    [
        (0, 1024 * KiB, True),
        (1, 1024 * KiB, True),
        (16, 1024 * KiB, True),
        (32, 512 * KiB, True),
        (128, 128 * KiB, True),
        (129, 32 * 1024 * KiB // 258, False),
        (400, 64 * KiB, False),
    ],
)
def test_batch_size_shares_the_budget(active: int, expected: int, pipelined: bool) -> None:
    budget = BufferBudget(32 * 1024 * KiB, pipeline_limit=128)
    budget.active = active
    assert budget.batch_size() == expected
    assert budget.pipelined() is pipelined
    assert budget.roomy() is (expected == 1024 * KiB)
    # Two batches per upload stay within the budget, down to the floor.
    assert 2 * active * budget.batch_size() <= budget.budget or expected == budget.low


def test_upload_counts_while_running() -> None:
    budget = BufferBudget(4 * 1024 * KiB, low=64 * KiB, high=1024 * KiB)
    with budget.upload():
        with budget.upload():
            assert budget.active == 2
            assert budget.batch_size() == 1024 * KiB
        with pytest.raises(RuntimeError), budget.upload():
            assert budget.active == 2
            raise RuntimeError
        assert budget.active == 1
    assert budget.active == 0
