"""The values authentication works on: what it sees of a request, and what it decides.

Authentication is sans-IO (STYLE.md rule 7): the dispatcher copies the few facts it needs
from the aiohttp request into a `SignedRequest`, and gets back an `AuthResult` that tells
the body reader how the payload is protected:

    PayloadMode.SIGNED                  x-amz-content-sha256 is the hex SHA-256 of the body;
                                        the reader checks it at EOF (XAmzContentSHA256Mismatch)
    PayloadMode.UNSIGNED                nothing to check (UNSIGNED-PAYLOAD, SigV2, presigned)
    PayloadMode.STREAMING_*             the body is aws-chunked: feed it through
                                        auth.chunked.ChunkedDecoder(signer=chunk_signer, ...)

https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from gateway.values import quick_init


@quick_init
@dataclass(frozen=True)
class SignedRequest:
    """What authentication sees of an HTTP request.

    `raw_path` is the path exactly as on the request line (aiohttp: the part of
    `request.raw_path` before "?"), still percent-encoded: SigV4 for S3 signs the path as
    sent, without normalisation. `query` holds the percent-decoded pairs in request order.
    `host_bucket` is the bucket named by the Host header in virtual-host style addressing
    (None for path style): SigV2 signs "/bucket" + path in that case.
    """

    method: str
    raw_path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # lower-case names; repeated headers joined by ","
    host_bucket: str | None = None

    def query_value(self, name: str) -> str | None:
        """The first value of query parameter `name` (case-sensitive), or None."""
        for key, value in self.query:
            if key == name:
                return value
        return None


class PayloadMode(Enum):
    """How the request body is protected; the values are the x-amz-content-sha256 tokens."""

    SIGNED = "signed"
    UNSIGNED = "UNSIGNED-PAYLOAD"
    STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    @property
    def is_streaming(self) -> bool:
        """The body is aws-chunked and must go through auth.chunked.ChunkedDecoder."""
        return self.value.startswith("STREAMING-")

    @property
    def has_trailer(self) -> bool:
        """The aws-chunked body ends with trailing headers (x-amz-checksum-*)."""
        return self.value.endswith("-TRAILER")


@dataclass(frozen=True)
class ChunkSigner:
    """What the chunk decoder needs to verify chunk and trailer signatures (SigV4 streaming).

    `scope` is "YYYYMMDD/region/s3/aws4_request"; `seed_signature` is the signature of the
    request itself, which the first chunk's signature chains from.
    """

    signing_key: bytes
    amz_date: str
    scope: str
    seed_signature: str

    def __repr__(self) -> str:
        # Keep the derived key out of logs and tracebacks.
        return f"ChunkSigner(amz_date={self.amz_date!r}, scope={self.scope!r})"


@quick_init
@dataclass(frozen=True)
class AuthResult:
    """Who signed the request, and how its body must be read."""

    access_key: str | None  # None: anonymous
    payload_mode: PayloadMode
    payload_sha256: str | None  # lower-case hex when payload_mode is SIGNED
    chunk_signer: ChunkSigner | None  # set for STREAMING_SIGNED(_TRAILER)
    presigned: bool
    expires_at: float | None  # presigned expiry (epoch seconds), if any
