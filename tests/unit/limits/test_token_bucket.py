"""gateway/limits/token_bucket.py and the per-process buckets of rate.py, on a hand clock."""

from __future__ import annotations

import pytest

from gateway.limits.rate import LocalBuckets
from gateway.limits.token_bucket import Rate, TokenBucket


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10", Rate(10, 10)), ("0.5", Rate(0.5, 1)), ("2:20", Rate(2, 20)), ("100:1", Rate(100, 1))],
)
def test_rate_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "x", "0", "-1", "5:0", "5:x", "inf", "nan:3"])
def test_rate_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        Rate.parse(text)


def test_burst_then_refill_at_the_rate() -> None:
    rate = Rate(rps=2, burst=3)
    bucket = TokenBucket.full(rate, now=100.0)
    assert [bucket.take(rate, 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(rate, 100.0) == pytest.approx(0.5)  # one token in half a second
    assert bucket.take(rate, 100.25) == pytest.approx(0.25)
    assert bucket.take(rate, 100.5) == 0.0
    assert bucket.take(rate, 100.5) == pytest.approx(0.5)


def test_refill_stops_at_the_burst() -> None:
    rate = Rate(rps=1, burst=2)
    bucket = TokenBucket.full(rate, now=0.0)
    assert bucket.take(rate, 0.0) == 0.0
    assert bucket.take(rate, 1000.0) == 0.0
    assert bucket.take(rate, 1000.0) == 0.0
    assert bucket.take(rate, 1000.0) > 0  # two at most, however long it rested


def test_a_clock_going_backwards_refills_nothing() -> None:
    rate = Rate(rps=1, burst=1)
    bucket = TokenBucket.full(rate, now=50.0)
    assert bucket.take(rate, 50.0) == 0.0
    assert bucket.take(rate, 10.0) == pytest.approx(1.0)
    assert bucket.take(rate, 50.5) == pytest.approx(0.5)
    assert bucket.take(rate, 51.0) == 0.0


def test_a_refused_request_takes_nothing() -> None:
    rate = Rate(rps=1, burst=1)
    bucket = TokenBucket.full(rate, now=0.0)
    bucket.take(rate, 0.0)
    for _ in range(5):
        assert bucket.take(rate, 0.5) == pytest.approx(0.5)
    assert bucket.take(rate, 1.0) == 0.0


class HandClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_local_buckets_are_per_name() -> None:
    clock = HandClock()
    buckets = LocalBuckets(clock)
    rate = Rate(1, 2)
    assert [buckets.take("key:a", rate) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert buckets.take("key:b", rate) == 0.0
    clock.now = 1.0
    assert buckets.take("key:a", rate) == 0.0


def test_local_buckets_stay_bounded() -> None:
    clock = HandClock()
    buckets = LocalBuckets(clock, capacity=3)
    rate = Rate(1, 1)
    for i in range(10):
        buckets.take(f"ip:{i}", rate)
    assert len(buckets) == 3
    assert buckets.take("ip:9", rate) > 0  # the most recent ones are kept
