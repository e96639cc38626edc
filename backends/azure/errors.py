"""azure-core/azure-storage-blob/aiohttp errors -> BackendError, in one table (STYLE rule 2).

    Azure error                                      becomes
    ResourceNotFoundError (BlobNotFound)             BlobNotFound
    ServiceRequestError   (never reached the server) BackendUnavailable   (retry later)
    ServiceResponseError  (connection broke, timeout)
    IncompleteReadError   (truncated body)
    HTTP 5xx, 429, ServerBusy, OperationTimedOut
    aiohttp / socket errors
    anything else (AuthenticationFailed, 403,        BackendError         (needs a human)
      ContainerNotFound, other 4xx)

A request sent without the SDK (signed.py) is judged by the same rules from its HTTP status
and its `x-ms-error-code` header (status_error).

By the time an error reaches us the SDK's retry policy has already retried the retryable
ones (backend.py configures it), so BackendUnavailable means "still failing after retries".

Messages name the Azure REST operation, the blob, the status and the storage error code,
never the SDK's message: it can quote the request (and the connection string holds the key).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from azure.core import exceptions as az

from backends.base import BackendError, BackendUnavailable, BlobNotFound

UNAVAILABLE_CODES = frozenset({"ServerBusy", "OperationTimedOut", "InternalError"})
UNAVAILABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    az.ServiceRequestError,  # includes ServiceRequestTimeoutError
    az.ServiceResponseError,  # includes ServiceResponseTimeoutError
    az.IncompleteReadError,
    aiohttp.ClientError,
    OSError,  # ConnectionError, TimeoutError (= asyncio.TimeoutError)
)


def error_code(exc: BaseException) -> str:
    """The storage error code of `exc` ("BlobNotFound"). The SDK sets a StorageErrorCode, a
    str Enum whose str() is its name ("StorageErrorCode.BLOB_NOT_FOUND"): its value is the
    code."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def translate(exc: Exception, operation: str, blob_id: str | None = None) -> BackendError:
    """The BackendError for `exc`, raised by Azure `operation` (on `blob_id` if any)."""
    what = f"azure {operation}" + (f" {blob_id}" if blob_id is not None else "")
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, UNAVAILABLE_EXCEPTIONS):
        return BackendUnavailable(f"{what}: storage unreachable ({type(exc).__name__})")
    if isinstance(exc, az.HttpResponseError):
        code = error_code(exc)
        status = exc.status_code or 0
        if isinstance(exc, az.ResourceNotFoundError) and code != "ContainerNotFound" and blob_id:
            return BlobNotFound(f"{what}: {code or type(exc).__name__} (HTTP {status})")
        return status_error(operation, blob_id, status, code or type(exc).__name__)
    return BackendError(f"{what}: {type(exc).__name__}")


def status_error(operation: str, blob_id: str | None, status: int, code: str) -> BackendError:
    """The BackendError for an error answer to a request sent without the SDK (signed.py):
    its HTTP status and its `x-ms-error-code`."""
    what = f"azure {operation}" + (f" {blob_id}" if blob_id is not None else "")
    detail = f"{what}: {code or 'no error code'} (HTTP {status})"
    if status == 404 and code == "BlobNotFound" and blob_id:
        return BlobNotFound(detail)
    if code in UNAVAILABLE_CODES or status == 429 or status >= 500:
        return BackendUnavailable(detail)
    return BackendError(detail)


@contextmanager
def azure_errors(operation: str, blob_id: str | None = None) -> Iterator[None]:
    """Translate whatever the block raises (Exception only: cancellation passes through)."""
    try:
        yield
    except BackendError:
        raise
    except (az.AzureError, aiohttp.ClientError, OSError) as exc:
        raise translate(exc, operation, blob_id) from exc
