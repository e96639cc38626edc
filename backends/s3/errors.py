"""botocore/aiobotocore/aiohttp errors -> BackendError, in one table (STYLE rule 2).

    S3 error code or exception                       becomes
    NoSuchKey, NotFound, 404 (HEAD has no body)      BlobNotFound
    SlowDown, Throttling..., 5xx, RequestTimeout     BackendUnavailable   (retry later)
    cannot connect, connection reset, timeouts,
      truncated body (IncompleteRead), aiohttp I/O   BackendUnavailable
    anything else (AccessDenied, NoSuchBucket,
      SignatureDoesNotMatch, bad TLS, checksums)     BackendError         (needs a human)

By the time an error reaches us botocore's retry handler ("standard" mode) has already
retried the retryable ones, so BackendUnavailable means "still failing after retries".

Messages name the operation, the blob and the S3 error code, never the request: botocore
messages can carry the endpoint URL, and the credentials must never reach a log or a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from botocore import exceptions as boto

from backends.base import BackendError, BackendUnavailable, BlobNotFound

NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
UNAVAILABLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "XMinioServerNotInitialized",
        "XMinioStorageFull",
    }
)
# Exceptions raised below the S3 protocol: the server could not be reached or the
# connection broke. SSLError is a ConnectionError too but a bad certificate is not
# transient, so it is looked up first and falls through to BackendError.
UNAVAILABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    boto.ConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError
    boto.HTTPClientError,  # ConnectionClosedError, ReadTimeoutError, ResponseStreamingError
    boto.IncompleteReadError,
    # A streamed part (backends.streamed) failed on the wire and cannot be replayed: the
    # failure botocore wanted to retry was a transient one.
    boto.UnseekableStreamError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ConnectionError,
)
NOT_TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (boto.SSLError,)


def client_error_code(exc: boto.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def client_error_status(exc: boto.ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return int(status or 0)


def translate(exc: Exception, operation: str, blob_id: str | None = None) -> BackendError:
    """The BackendError for `exc`, raised by S3 `operation` (on `blob_id` if any)."""
    what = f"s3 {operation}" + (f" {blob_id}" if blob_id is not None else "")
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, boto.ClientError):
        code = client_error_code(exc)
        status = client_error_status(exc)
        detail = f"{what}: {code or 'error'} (HTTP {status})"
        if code in NOT_FOUND_CODES and blob_id is not None:
            return BlobNotFound(detail)
        if code in UNAVAILABLE_CODES or status == 429 or status >= 500:
            return BackendUnavailable(detail)
        return BackendError(detail)
    if isinstance(exc, NOT_TRANSIENT_EXCEPTIONS):
        return BackendError(f"{what}: {type(exc).__name__}")
    if isinstance(exc, UNAVAILABLE_EXCEPTIONS):
        return BackendUnavailable(f"{what}: S3 endpoint unreachable ({type(exc).__name__})")
    return BackendError(f"{what}: {type(exc).__name__}")


@contextmanager
def s3_errors(operation: str, blob_id: str | None = None) -> Iterator[None]:
    """Translate whatever the block raises (Exception only: cancellation passes through)."""
    try:
        yield
    except BackendError:
        raise
    except (boto.BotoCoreError, boto.ClientError, aiohttp.ClientError, OSError) as exc:
        raise translate(exc, operation, blob_id) from exc
