"""gateway/limits/quota.py: when a write goes over a quota; quota_admin's sizes."""

from __future__ import annotations

import argparse

import pytest

from gateway.limits.quota import Quota, QuotaUse, Usage, byte_allowance, exceeded
from gateway.limits.quota_admin import parse_size

BYTES_100 = Quota("bucket", "b", max_bytes=100)
OBJECTS_2 = Quota("account", "a", max_objects=2)
BOTH = Quota("bucket", "b", max_bytes=100, max_objects=2)


@pytest.mark.parametrize(
    ("quota", "after", "delta", "dimension"),
    [
        (BYTES_100, Usage(1, 100), Usage(1, 40), None),  # exactly at the limit
        (BYTES_100, Usage(1, 101), Usage(1, 40), "bytes"),
        (BYTES_100, Usage(9, 50), Usage(1, 40), None),  # objects unlimited
        (BYTES_100, Usage(1, 150), Usage(0, -10), None),  # shrinking while over: allowed
        (BYTES_100, Usage(1, 150), Usage(0, 0), None),
        (OBJECTS_2, Usage(2, 10**12), Usage(1, 10**12), None),  # bytes unlimited
        (OBJECTS_2, Usage(3, 0), Usage(1, 0), "objects"),
        (OBJECTS_2, Usage(3, 50), Usage(0, 50), None),  # an overwrite adds no object
        (BOTH, Usage(3, 200), Usage(1, 1), "bytes"),  # bytes reported first
        (BOTH, Usage(3, 20), Usage(1, 1), "objects"),
        (Quota("bucket", "b", max_bytes=0), Usage(1, 0), Usage(1, 0), None),  # empty objects
        (Quota("bucket", "b", max_bytes=0), Usage(1, 1), Usage(1, 1), "bytes"),
    ],
)
def test_exceeded(quota: Quota, after: Usage, delta: Usage, dimension: str | None) -> None:
    assert exceeded(quota, after, delta) == dimension


def test_byte_allowance_is_the_tightest_room() -> None:
    uses = [
        QuotaUse(Quota("bucket", "b", max_bytes=100), Usage(1, 30)),
        QuotaUse(Quota("account", "a", max_bytes=1000), Usage(5, 950)),
        QuotaUse(Quota("account", "a", max_objects=9), Usage(5, 950)),
    ]
    assert byte_allowance(uses) == 50
    assert byte_allowance(uses, released=20) == 70
    assert byte_allowance(uses[2:]) is None
    over = [QuotaUse(Quota("bucket", "b", max_bytes=10), Usage(1, 30))]
    assert byte_allowance(over) == 0


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("123", 123),
        ("1K", 1024),
        ("10GiB", 10 << 30),
        ("512MB", 512 << 20),
        ("2t", 2 << 40),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1", "1.5G", "10X", "G"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)
