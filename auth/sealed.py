"""Access-key secrets at rest: sealed under the master key, never stored in the clear.

A SigV4 server must know each secret (it recomputes the signature), so secrets cannot be
hashed like passwords; they are sealed instead: AES-256-GCM under a key derived (HKDF) from
the master key, with the access key id as associated data, so a sealed secret copied onto
another key's row does not open. A dump of the database (or of the Redis cache, which holds
what the database holds) then gives no usable credentials without the master key.

Stored form: ``sealed1:`` + base64(nonce || ciphertext). A value without the prefix is a
secret stored before sealing existed; `open` accepts it, and the server reseals such rows at
start (auth/credentials.py, reseal_secrets).

Where the master key could differ between processes sharing the metadata (PostgreSQL
replicas that each generated their own ``<data-dir>/master.key``), sealing would lock every
replica but one out; gateway/app.py then leaves sealing off and says so until a master key
is configured (--master-key-file or KLOUDVAULT_MASTER_KEY).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX: Final = "sealed1:"
_NONCE: Final = 12


class UnsealError(Exception):
    """A sealed secret that this master key does not open (another key sealed it)."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


class SecretSealer:
    """Seals and opens access-key secrets; with no master key, stores them as given."""

    def __init__(self, master_key: bytes | None, previous: Sequence[bytes] = ()) -> None:
        """`previous`: master keys being rotated away from (--previous-master-key-file):
        secrets they sealed still open, and reseal_secrets moves them to `master_key`."""
        self._aead = None if master_key is None else _aead(master_key)
        self._previous = tuple(_aead(key) for key in previous)

    @property
    def sealing(self) -> bool:
        return self._aead is not None

    def seal(self, access_key: str, secret: str) -> str:
        if self._aead is None:
            return secret
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, secret.encode(), access_key.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, access_key: str, stored: str) -> str:
        return self._open(access_key, stored)[0]

    def is_current(self, access_key: str, stored: str) -> bool:
        """Sealed under the current master key (not in the clear, not under a previous one)."""
        return is_sealed(stored) and self._open(access_key, stored)[1]

    def _open(self, access_key: str, stored: str) -> tuple[str, bool]:
        if not is_sealed(stored):
            return stored, False
        if self._aead is None:
            raise UnsealError(f"the secret of {access_key} is sealed and no master key is set")
        try:
            blob = base64.b64decode(stored[len(PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise UnsealError(f"the sealed secret of {access_key} is damaged") from None
        for aead in (self._aead, *self._previous):
            try:
                plain = aead.decrypt(blob[:_NONCE], blob[_NONCE:], access_key.encode())
            except InvalidTag:
                continue
            return plain.decode(), aead is self._aead
        raise UnsealError(f"the secret of {access_key} was sealed under another master key")


def _aead(master_key: bytes) -> AESGCM:
    info = b"kloudvault-access-key-secrets"
    return AESGCM(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)
    )
