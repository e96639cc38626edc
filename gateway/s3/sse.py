"""Server-side encryption request headers, validated as S3 validates them.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-s3-encryption.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html
SSE-S3 is `x-amz-server-side-encryption: AES256`; SSE-C is the three
`x-amz-server-side-encryption-customer-*` headers (for a copy's source, the same under
`x-amz-copy-source-`). SSE-KMS is not built: aws:kms answers NotImplemented.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from gateway.codec.keys import SSE_C, SSE_S3
from gateway.errors import S3Error, S3ErrorCode

SSE_HEADER: Final = "x-amz-server-side-encryption"
CUSTOMER_PREFIX: Final = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER_PREFIX: Final = "x-amz-copy-source-server-side-encryption-customer-"
AES256: Final = "AES256"
_KMS: Final = frozenset({"aws:kms", "aws:kms:dsse"})
_KEY_SIZE: Final = 32


@dataclass(frozen=True)
class CustomerKey:
    key: bytes
    md5_b64: str


def _invalid(message: str, name: str, value: str | None = None) -> S3Error:
    if value is None:
        return S3Error(S3ErrorCode.INVALID_ARGUMENT, message, ArgumentName=name)
    return S3Error(S3ErrorCode.INVALID_ARGUMENT, message, ArgumentName=name, ArgumentValue=value)


def customer_key(headers: Mapping[str, str], prefix: str = CUSTOMER_PREFIX) -> CustomerKey | None:
    """The SSE-C key the headers under `prefix` give, or None when there are none."""
    algorithm = headers.get(prefix + "algorithm")
    raw_key = headers.get(prefix + "key")
    key_md5 = headers.get(prefix + "key-md5")
    if algorithm is None and raw_key is None and key_md5 is None:
        return None
    if algorithm is None:
        raise _invalid(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
            prefix + "algorithm",
        )
    if algorithm != AES256:
        raise S3Error(
            S3ErrorCode.INVALID_ENCRYPTION_ALGORITHM,
            ArgumentName=prefix + "algorithm",
            ArgumentValue=algorithm,
        )
    if not raw_key:
        raise _invalid(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
            prefix + "key",
        )
    try:
        key = base64.b64decode(raw_key, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != _KEY_SIZE:
        raise _invalid("The secret key was invalid for the specified algorithm.", prefix + "key")
    if not key_md5:
        raise _invalid(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.",
            prefix + "key-MD5",
        )
    actual = base64.b64encode(hashlib.md5(key).digest()).decode("ascii")
    if key_md5 != actual:
        raise _invalid(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            prefix + "key-MD5",
        )
    return CustomerKey(key, actual)


def sse_method(value: str | None) -> str | None:
    """SSE_S3 for AES256; None when absent; NotImplemented for KMS; InvalidArgument else."""
    if value is None:
        return None
    if value == AES256:
        return SSE_S3
    if value in _KMS:
        raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, "SSE-KMS is not supported yet")
    raise _invalid("The encryption method specified is not supported", SSE_HEADER, value)


@dataclass(frozen=True)
class WriteEncryption:
    """What a write's headers ask for: a mode (None: the bucket default) and an SSE-C key."""

    mode: str | None
    customer: CustomerKey | None = None


def write_encryption(headers: Mapping[str, str], *, secure: bool) -> WriteEncryption:
    """PutObject, CopyObject (destination), CreateMultipartUpload and POST Object headers.

    `secure`: the request came over https, or the operator allows SSE-C over http.
    """
    method = sse_method(headers.get(SSE_HEADER))
    customer = customer_key(headers)
    if customer is None:
        return WriteEncryption(method)
    if method is not None:
        raise _invalid(
            "Server Side Encryption with Customer provided key is incompatible with the "
            "encryption method specified",
            SSE_HEADER,
            headers.get(SSE_HEADER),
        )
    require_secure(secure)
    return WriteEncryption(SSE_C, customer)


def require_secure(secure: bool) -> None:
    if not secure:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Requests specifying Server Side Encryption with Customer provided keys must be "
            "made over a secure connection.",
        )


def response_headers(mode: str | None, customer: CustomerKey | None) -> dict[str, str]:
    """The x-amz-server-side-encryption* headers S3 answers for an object in `mode`."""
    if mode == SSE_S3:
        return {SSE_HEADER: AES256}
    if mode == SSE_C and customer is not None:
        return {
            CUSTOMER_PREFIX + "algorithm": AES256,
            CUSTOMER_PREFIX + "key-MD5": customer.md5_b64,
        }
    return {}
