"""The aws-chunked decoder, fed in pieces of varying size.

Input: a control line, then the body. The control line's letters choose the mode
("s": chunk signatures, "t": trailers announced) and its digits the feed size (1 to 64;
0 or none: all at once), e.g. "st7" decodes a signed body with trailers 7 bytes at a time.
"""

from __future__ import annotations

from auth import sigv4
from auth.chunked import ChunkedDecoder
from auth.request import ChunkSigner
from bench.fuzz.harness import Target
from gateway.errors import S3Error

_KEY = sigv4.signing_key("secret", "20130524", "us-east-1", "s3")
SIGNER = ChunkSigner(_KEY, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", "0" * 64)


def run(data: bytes) -> None:
    control, _, body = data.partition(b"\n")
    signed = b"s" in control
    digits = bytes(c for c in control if 0x30 <= c <= 0x39)[:2]
    step = int(digits) if digits else 0
    step = min(step, 64) or len(body) or 1
    decoder = ChunkedDecoder(
        signer=SIGNER if signed else None, expect_trailer=b"t" in control, max_chunk_size=4096
    )
    for at in range(0, len(body), step):
        decoder.feed(body[at : at + step])
    decoder.finish()


def targets() -> list[Target]:
    tokens = (
        b";chunk-signature=",
        b"\r\n",
        b"0\r\n",
        b"x-amz-trailer-signature:",
        b"x-amz-checksum-crc32:",
        b"ffffffff",
        b"10000",
    )
    return [Target("chunked", run, (S3Error,), tokens)]
