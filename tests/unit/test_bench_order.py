"""bench/workloads.py's in_turn: interleaved targets swap places every other round, so that
each runs first as often as last over an even number of rounds."""

from __future__ import annotations

from bench.workloads import in_turn


def test_targets_alternate_their_order_round_by_round() -> None:
    orders = [in_turn(["seaweedfs", "kloudvault"], rnd) for rnd in range(4)]
    assert orders == [
        ["seaweedfs", "kloudvault"],
        ["kloudvault", "seaweedfs"],
        ["seaweedfs", "kloudvault"],
        ["kloudvault", "seaweedfs"],
    ]
    three = ["a", "b", "c"]
    assert in_turn(three, 1) == ["c", "b", "a"] and three == ["a", "b", "c"]  # not in place
    assert in_turn([], 1) == []
