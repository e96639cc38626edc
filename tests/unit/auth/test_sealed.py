"""Access-key secrets sealed under the master key (auth/sealed.py)."""

from __future__ import annotations

import os

import pytest

from auth.sealed import PREFIX, SecretSealer, UnsealError, is_sealed

MASTER = os.urandom(32)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def test_sealed_secrets_open_only_for_their_key_id_and_master_key() -> None:
    sealer = SecretSealer(MASTER)
    stored = sealer.seal("AKIDONE", SECRET)
    assert is_sealed(stored) and SECRET not in stored
    assert stored != sealer.seal("AKIDONE", SECRET)  # a fresh nonce each time
    assert sealer.open("AKIDONE", stored) == SECRET
    with pytest.raises(UnsealError):
        sealer.open("AKIDTWO", stored)  # copied onto another key's row
    with pytest.raises(UnsealError):
        SecretSealer(os.urandom(32)).open("AKIDONE", stored)
    with pytest.raises(UnsealError):
        SecretSealer(None).open("AKIDONE", stored)
    with pytest.raises(UnsealError):
        sealer.open("AKIDONE", PREFIX + "not base64!")


def test_secrets_from_before_sealing_open_as_they_are() -> None:
    assert SecretSealer(MASTER).open("AKID", SECRET) == SECRET
    assert not SecretSealer(None).sealing
    assert SecretSealer(None).seal("AKID", SECRET) == SECRET


def test_a_previous_master_key_still_opens_until_resealed() -> None:
    old, new = os.urandom(32), os.urandom(32)
    stored = SecretSealer(old).seal("AKID", SECRET)
    rotating = SecretSealer(new, previous=(old,))
    assert rotating.open("AKID", stored) == SECRET
    assert not rotating.is_current("AKID", stored)
    resealed = rotating.seal("AKID", SECRET)
    assert rotating.is_current("AKID", resealed)
    assert SecretSealer(new).open("AKID", resealed) == SECRET
    with pytest.raises(UnsealError):
        SecretSealer(new).open("AKID", stored)
