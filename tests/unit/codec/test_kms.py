"""gateway.codec.kms sealing: key versions sealed by the master key, data keys bound to
the key version, the object and the encryption context, and re-sealing on rotation."""

from __future__ import annotations

import pytest

from gateway.codec.keys import KeyMismatch, new_data_key, open_data_key, reseal_data_key
from gateway.codec.kms import kms_kek, open_material, seal_material
from gateway.codec.params import KmsRef, SegmentCodec

MASTER = bytes(range(32))
MATERIAL = bytes(range(32, 64))


def test_material_opens_only_with_its_master_key_id_and_version() -> None:
    sealed = seal_material(MASTER, "k1", 0, MATERIAL)
    assert open_material(MASTER, "k1", 0, sealed) == MATERIAL
    for master, key_id, version in [(bytes(32), "k1", 0), (MASTER, "k2", 0), (MASTER, "k1", 1)]:
        with pytest.raises(ValueError):
            open_material(master, key_id, version, sealed)


def test_data_key_is_bound_to_object_and_context() -> None:
    kek = kms_kek(MATERIAL, "k1", "bucket", "key", "e30=")
    sealed, sid, _ = new_data_key(kek)
    codec = SegmentCodec("SSE-KMS", sealed, sid, 65536, 0, kms=KmsRef("k1", 0, "e30="))
    open_data_key(codec, kek)
    for other in [
        kms_kek(MATERIAL, "k1", "bucket", "key", None),
        kms_kek(MATERIAL, "k1", "bucket", "other", "e30="),
        kms_kek(MATERIAL, "k2", "bucket", "key", "e30="),
        kms_kek(bytes(32), "k1", "bucket", "key", "e30="),
    ]:
        with pytest.raises(KeyMismatch):
            open_data_key(codec, other)


def test_reseal_keeps_the_data_key() -> None:
    old = kms_kek(MATERIAL, "k1", "b", "k", None)
    new = kms_kek(bytes(32), "k1", "b", "k", None)
    sealed, sid, cipher = new_data_key(old)
    frame = cipher.seal(b"hello", 0, True)
    codec = SegmentCodec("SSE-KMS", sealed, sid, 65536, 0)
    moved = SegmentCodec("SSE-KMS", reseal_data_key(codec, old, new), sid, 65536, 0)
    assert open_data_key(moved, new).open(frame, 0, True) == b"hello"
    with pytest.raises(KeyMismatch):
        open_data_key(moved, old)
    with pytest.raises(KeyMismatch):
        reseal_data_key(codec, new, old)


def test_codec_params_round_trip() -> None:
    ref = KmsRef("k1", 3, "e30=", True, "aws:kms:dsse")
    codec = SegmentCodec("SSE-KMS", "a", "b", 65536, 10, "zstd", ref)
    assert SegmentCodec.from_dict(codec.to_dict()) == codec
    old_row = {"mode": "SSE-S3", "key": "a", "sid": "b", "frame": 65536, "stored": 10}
    assert SegmentCodec.from_dict(old_row) == SegmentCodec("SSE-S3", "a", "b", 65536, 10)
