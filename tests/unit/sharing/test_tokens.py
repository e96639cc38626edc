"""gateway/sharing/tokens.py: token shape and entropy, the stored hash, durations."""

from __future__ import annotations

import hashlib

import pytest

from gateway.sharing.tokens import (
    MAX_EXPIRY_SECONDS,
    is_link_id,
    is_token,
    new_link_id,
    new_token,
    parse_duration,
    token_hash,
)


def test_tokens_carry_192_random_bits_and_are_never_repeated() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert is_token(token) and len(token) == 32  # 32 base64 characters: 192 bits


def test_token_hash_is_hex_sha256_of_the_token() -> None:
    token = new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token_hash(token) != token_hash(new_token())
    assert len(token_hash(token)) == 64


@pytest.mark.parametrize(
    "text", ["", "A" * 31, "A" * 33, "A" * 31 + "/", "A" * 31 + "=", "A" * 31 + ".", "Ä" * 32]
)
def test_not_tokens(text: str) -> None:
    assert not is_token(text)


def test_link_ids() -> None:
    assert is_link_id(new_link_id())
    assert not is_link_id("sl-XYZ") and not is_link_id("sl-" + "0" * 17)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 7 * 86400),
        ("12h", 12 * 3600),
        ("30m", 1800),
        ("45s", 45),
        ("2w", 14 * 86400),
        ("3600", 3600),
        (" 1D ", 86400),
        ("365d", MAX_EXPIRY_SECONDS),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0d", "366d", "-1d", "1.5h", "7 d", "d", "1y", "7dd"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
