"""Data keys and what seals them: the master key (SSE-S3), a KMS key (SSE-KMS,
gateway.codec.kms) or the customer's key (SSE-C).

Every segment gets a random 32-byte data key and a random segment id (gateway.codec.frames).
The data key is stored sealed with AES-256-GCM under a key-encryption key (KEK):
  - SSE-S3: HKDF-SHA256 of the master key, bound to the bucket and object key, so a sealed
    data key copied into another object's row does not open;
  - SSE-C: HKDF-SHA256 of the customer's key. The customer key is never stored: the sealed
    data key is what proves a later key is the same (a wrong key fails to open it).
The segment id is the associated data of the seal, so a sealed key moved to another segment
fails too.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.codec.frames import KEY_SIZE, FrameCipher
from gateway.codec.params import KmsRef, SegmentCodec
from gateway.values import quick_init

SSE_S3: Final = "SSE-S3"
SSE_C: Final = "SSE-C"
SSE_KMS: Final = "SSE-KMS"
_NONCE_SIZE: Final = 12
_SEGMENT_ID_SIZE: Final = 16
MASTER_KEY_FILE: Final = "master.key"


class KeyMismatch(Exception):
    """The key offered does not open the sealed data key."""


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(secret)


def sse_s3_kek(master_key: bytes, bucket: str, key: str) -> bytes:
    info = b"kloudvault-sse-s3\0" + bucket.encode() + b"\0" + key.encode()
    return _hkdf(master_key, info)


def sse_c_kek(customer_key: bytes) -> bytes:
    return _hkdf(customer_key, b"kloudvault-sse-c")


def open_data_key(codec: SegmentCodec, kek: bytes) -> FrameCipher:
    """The frame cipher of a sealed segment; KeyMismatch when `kek` is not the one used."""
    sid = base64.b64decode(codec.segment_id)
    blob = base64.b64decode(codec.sealed_key)
    try:
        data_key = AESGCM(kek).decrypt(blob[:_NONCE_SIZE], blob[_NONCE_SIZE:], sid)
    except InvalidTag as exc:
        raise KeyMismatch("the key does not open this object's data key") from exc
    return FrameCipher(data_key, sid)


def reseal_data_key(codec: SegmentCodec, old_kek: bytes, new_kek: bytes) -> str:
    """The segment's data key sealed under `new_kek` instead (key rotation: the blob and
    its frames stay as they are). KeyMismatch when `old_kek` does not open it."""
    sid = base64.b64decode(codec.segment_id)
    blob = base64.b64decode(codec.sealed_key)
    try:
        data_key = AESGCM(old_kek).decrypt(blob[:_NONCE_SIZE], blob[_NONCE_SIZE:], sid)
    except InvalidTag as exc:
        raise KeyMismatch("the key does not open this object's data key") from exc
    nonce = secrets.token_bytes(_NONCE_SIZE)
    sealed = nonce + AESGCM(new_kek).encrypt(nonce, data_key, sid)
    return base64.b64encode(sealed).decode("ascii")


def new_data_key(kek: bytes) -> tuple[str, str, FrameCipher]:
    """A fresh data key and segment id: (sealed key, segment id) in base64 and the cipher."""
    data_key = secrets.token_bytes(KEY_SIZE)
    sid = secrets.token_bytes(_SEGMENT_ID_SIZE)
    nonce = secrets.token_bytes(_NONCE_SIZE)
    sealed = nonce + AESGCM(kek).encrypt(nonce, data_key, sid)
    b64 = base64.b64encode
    return b64(sealed).decode("ascii"), b64(sid).decode("ascii"), FrameCipher(data_key, sid)


def parse_master_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{source}: the master key is not base64") from exc
    if len(key) != KEY_SIZE:
        raise ValueError(f"{source}: the master key must be 32 bytes, base64-encoded")
    return key


def load_master_key(value: str | None, path: str | None, data_dir: str) -> bytes:
    """The master key: `value` (base64), else the file `path`, else <data_dir>/master.key,
    generated (mode 0600) when absent. Replicas must share one key: give them the same."""
    if value:
        return parse_master_key(value, "master key")
    file = Path(path) if path else Path(data_dir) / MASTER_KEY_FILE
    if path is None and not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        text = base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode("ascii") + "\n"
        # Written whole to a temporary name, then linked: a worker starting at the same
        # time either links first or reads the complete file of the one that did.
        tmp = file.with_name(f".{MASTER_KEY_FILE}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return parse_master_key(file.read_text(), str(file))


# The key-encryption key that opens one segment's data key (segments of one object may
# have been sealed under different versions of a KMS key).
KekFor = Callable[[SegmentCodec], bytes]


@quick_init
@dataclass(frozen=True)
class Sealing:
    """How to seal the segments of one object: the mode, its key-encryption key and, for
    SSE-KMS, the KMS key version the codec records."""

    mode: str  # SSE_S3, SSE_KMS or SSE_C
    kek: bytes
    kms: KmsRef | None = None
