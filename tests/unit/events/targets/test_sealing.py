"""events.targets.sealing: a stored target's URL and options sealed whole, bound to the
target's name, opened as they were; what `admin target list` shows of a URL."""

from __future__ import annotations

import os

import pytest

from auth.sealed import SecretSealer, UnsealError
from events.targets.sealing import is_current, open_target, seal_target, shown_url

URL = "amqp://kv:amqp-pass-xyz@127.0.0.1:5672/%2F?exchange=e"
OPTIONS = {"secret": "hook-signing-key", "timeout": 3.0}


def test_sealed_row_holds_no_plaintext_and_opens() -> None:
    sealer = SecretSealer(os.urandom(32))
    url, options = seal_target(sealer, "bus", URL, OPTIONS)
    for column in (url, options):
        assert column.startswith("sealed1:")
        assert "amqp-pass-xyz" not in column and "hook-signing-key" not in column
    assert open_target(sealer, "bus", url, options) == (URL, OPTIONS)
    assert is_current(sealer, "bus", url, options)
    # Bound to its name: another target's row (or an access key's secret) does not open.
    with pytest.raises(UnsealError):
        open_target(sealer, "other", url, options)
    with pytest.raises(UnsealError):
        sealer.open("bus", url)


def test_rows_from_before_sealing_open_as_they_are() -> None:
    sealer = SecretSealer(os.urandom(32))
    assert open_target(sealer, "bus", URL, '{"timeout": 3}') == (URL, {"timeout": 3})
    assert not is_current(sealer, "bus", URL, '{"timeout": 3}')
    # No master key (PostgreSQL replicas without a shared one): stored as given.
    assert seal_target(SecretSealer(None), "bus", URL, {}) == (URL, "{}")


def test_a_previous_master_key_still_opens_but_is_not_current() -> None:
    old, new = os.urandom(32), os.urandom(32)
    url, options = seal_target(SecretSealer(old), "bus", URL, OPTIONS)
    rotated = SecretSealer(new, previous=[old])
    assert open_target(rotated, "bus", url, options) == (URL, OPTIONS)
    assert not is_current(rotated, "bus", url, options)
    with pytest.raises(UnsealError):
        open_target(SecretSealer(new), "bus", url, options)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (URL, "amqp://kv:***@127.0.0.1:5672/%2F?exchange=e"),
        ("redis://:pw@r:6379/0?stream=s", "redis://:***@r:6379/0?stream=s"),
        ("nats://s3cr3t-token@n:4222?subject=s", "nats://***@n:4222?subject=s"),
        ("https://h.test/x?a=b", "https://h.test/x?a=b"),
        ("mqtt://u:p@a@m:1883", "mqtt://u:***@m:1883"),
    ],
)
def test_shown_url(url: str, shown: str) -> None:
    assert shown_url(url) == shown
