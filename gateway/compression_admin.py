"""`kloudvault admin compression set|stats`: a bucket's compression, and the space saved.

    kloudvault admin compression set BUCKET off|auto|on|default
    kloudvault admin compression stats [--bucket B]

`set` stores the bucket's own mode (gateway/compression.py; `default`: follow the service's
--compression); it applies to objects written from then on. `stats` walks the versions
whose segments are compressed and sums their plaintext and stored sizes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from gateway.codec.compress import ZSTD
from gateway.compression import COMPRESSION_CONFIG, MODES
from gateway.meta.base import MetaStore


def add_compression_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The commands, through `add(name, help)` (cli.py's leaf-command factory)."""
    set_mode = add("set", "a bucket's compression of new objects")
    set_mode.add_argument("bucket")
    set_mode.add_argument("mode", choices=[*MODES, "default"])
    stats = add("stats", "the space compression saves (all buckets, or one)")
    stats.add_argument("--bucket", default=None)


@dataclass
class CompressionStats:
    objects: int = 0  # versions with at least one compressed segment
    plain_bytes: int = 0
    stored_bytes: int = 0

    @property
    def saved_bytes(self) -> int:
        return self.plain_bytes - self.stored_bytes


async def compression_stats(meta: MetaStore, bucket: str | None = None) -> CompressionStats:
    stats = CompressionStats()
    after: tuple[str, str, str] = (bucket or "", "", "")
    while rows := await meta.coded_versions(f'"z":"{ZSTD}"', after):
        for row in rows:
            if bucket is not None and row.bucket != bucket:
                return stats
            stats.objects += 1
            for seg in row.segments:
                if seg.codec is not None and seg.codec.compression is not None:
                    stats.plain_bytes += seg.size
                    stats.stored_bytes += seg.codec.stored_size
        last = rows[-1]
        after = (last.bucket, last.key, last.version_id or "")
    return stats


async def run_compression(meta: MetaStore, args: argparse.Namespace) -> int:
    if args.compression_action == "set":
        if await meta.get_bucket(args.bucket) is None:
            print(f"compression set: no bucket {args.bucket}", file=sys.stderr)
            return 1
        mode = None if args.mode == "default" else args.mode
        await meta.put_bucket_config(args.bucket, COMPRESSION_CONFIG, mode)
        print(f"{args.bucket}: compression {args.mode} for new objects")
        return 0
    stats = await compression_stats(meta, args.bucket)
    share = 100 * stats.saved_bytes / stats.plain_bytes if stats.plain_bytes else 0.0
    print(f"compressed versions: {stats.objects}")
    print(f"plaintext bytes:     {stats.plain_bytes}")
    print(f"stored bytes:        {stats.stored_bytes}")
    print(f"saved bytes:         {stats.saved_bytes} ({share:.1f}%)")
    return 0
