"""gateway.codec.keys: sealed data keys bound to their KEK and segment; the master key."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest

from gateway.codec.frames import FRAME_SIZE
from gateway.codec.keys import (
    SSE_S3,
    KeyMismatch,
    load_master_key,
    new_data_key,
    open_data_key,
    sse_c_kek,
    sse_s3_kek,
)
from gateway.codec.params import SegmentCodec

MASTER = bytes(range(32))


def _codec(kek: bytes) -> tuple[SegmentCodec, bytes]:
    sealed, sid, cipher = new_data_key(kek)
    return SegmentCodec(SSE_S3, sealed, sid, FRAME_SIZE, 16), cipher.seal(b"x", 0, True)


def test_data_key_opens_with_its_kek_only() -> None:
    kek = sse_s3_kek(MASTER, "bucket", "key")
    codec, frame = _codec(kek)
    assert open_data_key(codec, kek).open(frame, 0, True) == b"x"
    for other in (
        sse_s3_kek(MASTER, "bucket", "key2"),
        sse_s3_kek(MASTER, "bucket2", "key"),
        sse_s3_kek(bytes(32), "bucket", "key"),
        sse_c_kek(MASTER),
    ):
        with pytest.raises(KeyMismatch):
            open_data_key(codec, other)


def test_sealed_key_moved_to_another_segment_fails() -> None:
    kek = sse_s3_kek(MASTER, "b", "k")
    first, _ = _codec(kek)
    second, _ = _codec(kek)
    with pytest.raises(KeyMismatch):
        open_data_key(dataclasses.replace(first, segment_id=second.segment_id), kek)


def test_codec_json_round_trip() -> None:
    codec, _ = _codec(sse_c_kek(MASTER))
    assert SegmentCodec.from_dict(codec.to_dict()) == codec


def test_master_key_from_value_file_or_generated(tmp_path: Path) -> None:
    b64 = base64.b64encode(MASTER).decode()
    assert load_master_key(b64, None, str(tmp_path)) == MASTER
    key_file = tmp_path / "k"
    key_file.write_text(b64 + "\n")
    assert load_master_key(None, str(key_file), str(tmp_path / "unused")) == MASTER
    generated = load_master_key(None, None, str(tmp_path / "data"))
    assert len(generated) == 32
    assert (tmp_path / "data" / "master.key").stat().st_mode & 0o777 == 0o600
    assert load_master_key(None, None, str(tmp_path / "data")) == generated
    with pytest.raises(ValueError):
        load_master_key(base64.b64encode(b"short").decode(), None, str(tmp_path))
    with pytest.raises(FileNotFoundError):
        load_master_key(None, str(tmp_path / "missing"), str(tmp_path))
