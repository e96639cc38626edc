"""Whether a new object's segments are compressed (gateway.codec.compress).

`--compression off|auto|on` sets it service-wide; a bucket's own setting (the
"compression" bucket config: `kloudvault admin compression set BUCKET MODE`) overrides it.
`on` compresses every frame that shrinks; `auto` skips content types that are compressed
already, and content whose first frame does not shrink (gateway.codec.compress
worth_compressing, decided in gateway.writepath).
"""

from __future__ import annotations

from typing import Final

from gateway.context import Services

COMPRESSION_CONFIG: Final = "compression"
MODES: Final = ("off", "auto", "on")

# Formats that carry their own compression: zstd would spend time to save nothing.
_COMPRESSED_PREFIXES: Final = ("image/", "video/", "audio/")
_NOT_COMPRESSED: Final = frozenset({"image/svg+xml", "image/bmp", "image/x-ms-bmp", "audio/wav"})
_COMPRESSED_TYPES: Final = frozenset(
    {
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/zstd",
        "application/x-zstd",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/java-archive",
        "application/epub+zip",
        "application/x-compress",
        "application/x-lz4",
        "font/woff",
        "font/woff2",
    }
)
_ZIP_BASED_PREFIX: Final = "application/vnd.openxmlformats-officedocument."


def known_compressed(content_type: str | None) -> bool:
    """Whether the content type names a format that is compressed already."""
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in _NOT_COMPRESSED:
        return False
    return kind in _COMPRESSED_TYPES or kind.startswith((*_COMPRESSED_PREFIXES, _ZIP_BASED_PREFIX))


async def bucket_compression(services: Services, bucket: str) -> str:
    """The bucket's mode: its own setting, else the service's."""
    own = await services.meta.get_bucket_config(bucket, COMPRESSION_CONFIG)
    return own if own in MODES else services.settings.compression


async def compression_for(services: Services, bucket: str, content_type: str | None) -> str:
    """off, auto or on for a new object of `content_type` in `bucket`."""
    mode = await bucket_compression(services, bucket)
    if mode == "auto" and known_compressed(content_type):
        return "off"
    return mode
