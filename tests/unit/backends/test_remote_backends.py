"""The pure parts of the s3 and azure backends: error tables, PartReader, naming helpers.

Their behaviour against real servers is in tests/contract (the backend contract and
test_remote_backend_failures.py).
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from azure.core import exceptions as az
from botocore import exceptions as boto

from backends.azure.backend import AzureBackend, account_name_of, block_id
from backends.azure.errors import translate as azure_translate
from backends.base import BackendError, BackendUnavailable, BlobNotFound
from backends.parts import PartReader
from backends.s3 import S3Backend
from backends.s3.errors import translate as s3_translate

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def client_error(code: str, status: int, message: str = "") -> boto.ClientError:
    # A partial response, as botocore builds for errors; its stubs want every metadata key.
    response: Any = {
        "Error": {"Code": code, "Message": message or f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return boto.ClientError(response, "GetObject")


def storage_error(
    cls: type[az.HttpResponseError], status: int, code: str | None
) -> az.HttpResponseError:
    exc = cls(message=f"{code} with key {SECRET}")
    exc.status_code = status
    exc.error_code = code  # type: ignore[attr-defined]  # set by the storage SDK
    return exc


S3_CASES: list[tuple[Exception, str | None, type[BackendError]]] = [
    (client_error("NoSuchKey", 404), "blob", BlobNotFound),
    (client_error("404", 404), "blob", BlobNotFound),  # HEAD: no body, no code
    (client_error("404", 404), None, BackendError),  # HeadBucket: the bucket is missing
    (client_error("NoSuchBucket", 404), "blob", BackendError),
    (client_error("SlowDown", 503), "blob", BackendUnavailable),
    (client_error("ServiceUnavailable", 503), "blob", BackendUnavailable),
    (client_error("InternalError", 500), "blob", BackendUnavailable),
    (client_error("Whatever", 502), "blob", BackendUnavailable),
    (client_error("TooManyRequests", 429), "blob", BackendUnavailable),
    (client_error("RequestTimeout", 400), "blob", BackendUnavailable),
    (client_error("AccessDenied", 403), "blob", BackendError),
    (client_error("SignatureDoesNotMatch", 403), "blob", BackendError),
    (client_error("InvalidAccessKeyId", 403), None, BackendError),
    (boto.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "blob", BackendUnavailable),
    (boto.ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), "blob", BackendUnavailable),
    (boto.ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), "blob", BackendUnavailable),
    (boto.ConnectionClosedError(endpoint_url="http://127.0.0.1:1"), "blob", BackendUnavailable),
    (boto.ResponseStreamingError(error="reset"), "blob", BackendUnavailable),
    (boto.IncompleteReadError(actual_bytes=1, expected_bytes=2), "blob", BackendUnavailable),
    (aiohttp.ServerDisconnectedError(), "blob", BackendUnavailable),
    (TimeoutError(), "blob", BackendUnavailable),
    (ConnectionResetError(), "blob", BackendUnavailable),
    (boto.SSLError(endpoint_url="https://x", error=ValueError("bad cert")), "blob", BackendError),
    (boto.NoCredentialsError(), "blob", BackendError),
    (boto.ParamValidationError(report="bad"), "blob", BackendError),
]


@pytest.mark.parametrize(("exc", "blob_id", "expected"), S3_CASES)
def test_s3_translate(exc: Exception, blob_id: str | None, expected: type[BackendError]) -> None:
    translated = s3_translate(exc, "GetObject", blob_id)
    assert type(translated) is expected
    assert "GetObject" in str(translated)


AZURE_CASES: list[tuple[Exception, str | None, type[BackendError]]] = [
    (storage_error(az.ResourceNotFoundError, 404, "BlobNotFound"), "blob", BlobNotFound),
    (storage_error(az.ResourceNotFoundError, 404, None), "blob", BlobNotFound),
    (storage_error(az.ResourceNotFoundError, 404, "ContainerNotFound"), "blob", BackendError),
    (storage_error(az.ResourceNotFoundError, 404, "ContainerNotFound"), None, BackendError),
    (storage_error(az.HttpResponseError, 503, "ServerBusy"), "blob", BackendUnavailable),
    (storage_error(az.HttpResponseError, 500, "InternalError"), "blob", BackendUnavailable),
    (storage_error(az.HttpResponseError, 500, "OperationTimedOut"), None, BackendUnavailable),
    (storage_error(az.HttpResponseError, 429, None), "blob", BackendUnavailable),
    (storage_error(az.ClientAuthenticationError, 403, "AuthenticationFailed"), "b", BackendError),
    (storage_error(az.HttpResponseError, 403, "AuthorizationFailure"), "blob", BackendError),
    (storage_error(az.HttpResponseError, 400, "InvalidBlockList"), "blob", BackendError),
    (storage_error(az.ResourceExistsError, 409, "BlobAlreadyExists"), "blob", BackendError),
    (az.ServiceRequestError("connect refused"), "blob", BackendUnavailable),
    (az.ServiceRequestTimeoutError("connect timeout"), "blob", BackendUnavailable),
    (az.ServiceResponseError("reset"), "blob", BackendUnavailable),
    (az.ServiceResponseTimeoutError("read timeout"), "blob", BackendUnavailable),
    (az.IncompleteReadError("short body"), "blob", BackendUnavailable),
    (aiohttp.ClientPayloadError(), "blob", BackendUnavailable),
    (TimeoutError(), "blob", BackendUnavailable),
    (az.AzureError("something else"), "blob", BackendError),
]


@pytest.mark.parametrize(("exc", "blob_id", "expected"), AZURE_CASES)
def test_azure_translate(exc: Exception, blob_id: str | None, expected: type[BackendError]) -> None:
    translated = azure_translate(exc, "Get Blob", blob_id)
    assert type(translated) is expected
    assert "Get Blob" in str(translated)


def test_error_messages_never_quote_the_sdk_message() -> None:
    s3 = s3_translate(client_error("SignatureDoesNotMatch", 403, f"key {SECRET}"), "PutObject")
    azure = azure_translate(storage_error(az.HttpResponseError, 403, "AuthFailed"), "Put Blob")
    assert SECRET not in str(s3)
    assert SECRET not in str(azure)


def test_repr_has_no_credentials() -> None:
    s3 = S3Backend("http://127.0.0.1:1", "bucket", access_key="AKIDEXAMPLE", secret_key=SECRET)
    azure = AzureBackend(
        "container",
        connection_string=f"AccountName=acct;AccountKey={SECRET};BlobEndpoint=http://x/acct",
    )
    for backend in (s3, azure):
        assert SECRET not in repr(backend)
        assert "AKIDEXAMPLE" not in repr(backend)


def test_block_ids_have_equal_length() -> None:
    ids = [block_id(n) for n in (0, 1, 9, 10, 12_345, 49_999)]
    assert len({len(i) for i in ids}) == 1
    assert base64.b64decode(block_id(42)) == b"00000042"
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("url", "account"),
    [
        ("https://acct.blob.core.windows.net", "acct"),
        ("https://acct.blob.core.windows.net/", "acct"),
        ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
        ("http://localhost:10000/devstoreaccount1/", "devstoreaccount1"),
    ],
)
def test_account_name_of(url: str, account: str) -> None:
    assert account_name_of(url) == account


async def chunks_of(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    offset = i = 0
    while offset < len(data):
        yield data[offset : offset + sizes[i % len(sizes)]]
        offset += sizes[i % len(sizes)]
        i += 1


async def read_parts(reader: PartReader, size: int) -> list[bytes]:
    parts = []
    while part := await reader.read(size):
        parts.append(part)
    return parts


@pytest.mark.parametrize("seed", range(40))
def test_part_reader_cuts_exact_parts(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(0, 50_000))
    sizes = [rng.choice([1, 7, 1000, 4096, 30_000, 70_000]) for _ in range(rng.randrange(1, 5))]
    part_size = rng.choice([1, 100, 4096, 10_000, 65_536])
    reader = PartReader(chunks_of(data, sizes))
    parts = asyncio.run(read_parts(reader, part_size))
    assert b"".join(parts) == data
    assert all(len(p) == part_size for p in parts[:-1])
    assert all(p for p in parts), "no empty parts"
    assert reader.total == len(data)


def test_part_reader_skips_empty_chunks() -> None:
    async def source() -> AsyncIterator[bytes]:
        for chunk in (b"", b"ab", b"", b"cde", b""):
            yield chunk

    assert asyncio.run(read_parts(PartReader(source()), 2)) == [b"ab", b"cd", b"e"]
