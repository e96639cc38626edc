"""The codec parameters of one stored segment, as the version row keeps them.

A segment stored plain has none. A sealed one (gateway.codec.frames) records how its data
key is sealed (gateway.codec.keys), its segment id, its frame size and its stored size,
which differs from the plaintext size the segment's `size` gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SegmentCodec:
    mode: str  # gateway.codec.keys SSE_S3 or SSE_C
    sealed_key: str  # base64: nonce || AES-GCM(kek, data key)
    segment_id: str  # base64
    frame_size: int
    stored_size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "key": self.sealed_key,
            "sid": self.segment_id,
            "frame": self.frame_size,
            "stored": self.stored_size,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SegmentCodec:
        return cls(d["mode"], d["key"], d["sid"], d["frame"], d["stored"])
