"""The codec parameters of one stored segment, as the version row keeps them.

A segment stored plain has none. A coded one records how its data key is sealed
(gateway.codec.keys; none when it is only compressed), its segment id, its frame size and
its stored size, which differs from the plaintext size the segment's `size` gives. A
compressed segment (gateway.codec.compress) has `compression` set; an SSE-KMS one names
its KMS key and the key version that seals its data key (gateway.codec.kms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KmsRef:
    """The KMS key (and version) sealing a segment's data key, and the request's choices."""

    key_id: str
    key_version: int
    context: str | None = None  # the encryption context as the client sent it (base64 JSON)
    bucket_key: bool = False
    algorithm: str = "aws:kms"  # or "aws:kms:dsse": echoed back as sent

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.key_id, "v": self.key_version}
        if self.context is not None:
            d["ctx"] = self.context
        if self.bucket_key:
            d["bk"] = True
        if self.algorithm != "aws:kms":
            d["alg"] = self.algorithm
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KmsRef:
        return cls(d["id"], d["v"], d.get("ctx"), bool(d.get("bk")), d.get("alg", "aws:kms"))


@dataclass(frozen=True)
class SegmentCodec:
    mode: str | None  # gateway.codec.keys SSE_S3, SSE_KMS or SSE_C; None: compressed only
    sealed_key: str  # base64: nonce || AES-GCM(kek, data key); "" when not sealed
    segment_id: str  # base64
    frame_size: int
    stored_size: int
    compression: str | None = None  # "zstd": gateway.codec.compress frames and index
    kms: KmsRef | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "mode": self.mode,
            "key": self.sealed_key,
            "sid": self.segment_id,
            "frame": self.frame_size,
            "stored": self.stored_size,
        }
        if self.compression is not None:
            d["z"] = self.compression
        if self.kms is not None:
            d["kms"] = self.kms.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SegmentCodec:
        kms = d.get("kms")
        return cls(
            d["mode"],
            d["key"],
            d["sid"],
            d["frame"],
            d["stored"],
            d.get("z"),
            KmsRef.from_dict(kms) if kms else None,
        )
