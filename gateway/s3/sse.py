"""Server-side encryption request headers, validated as S3 validates them.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-s3-encryption.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html
SSE-S3 is `x-amz-server-side-encryption: AES256`; SSE-C is the three
`x-amz-server-side-encryption-customer-*` headers (for a copy's source, the same under
`x-amz-copy-source-`). SSE-KMS is `aws:kms` (or `aws:kms:dsse`, accepted alike and
echoed back as sent) with the optional key id, encryption context and bucket-key headers:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from gateway.codec.keys import SSE_C, SSE_KMS, SSE_S3
from gateway.errors import S3Error, S3ErrorCode
from gateway.values import quick_init

SSE_HEADER: Final = "x-amz-server-side-encryption"
CUSTOMER_PREFIX: Final = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER_PREFIX: Final = "x-amz-copy-source-server-side-encryption-customer-"
KMS_KEY_HEADER: Final = "x-amz-server-side-encryption-aws-kms-key-id"
CONTEXT_HEADER: Final = "x-amz-server-side-encryption-context"
BUCKET_KEY_HEADER: Final = "x-amz-server-side-encryption-bucket-key-enabled"
AES256: Final = "AES256"
AWS_KMS: Final = "aws:kms"
KMS_ALGORITHMS: Final = frozenset({AWS_KMS, "aws:kms:dsse"})
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
    """SSE_S3 for AES256, SSE_KMS for aws:kms[:dsse]; None when absent; InvalidArgument else."""
    if value is None:
        return None
    if value == AES256:
        return SSE_S3
    if value in KMS_ALGORITHMS:
        return SSE_KMS
    raise _invalid("The encryption method specified is not supported", SSE_HEADER, value)


@dataclass(frozen=True)
class KmsRequest:
    """What an SSE-KMS write asks for: the algorithm as sent, the key (id, ARN or alias;
    None: the default key), the encryption context (base64 JSON as sent) and bucket keys
    (None: not said)."""

    algorithm: str = AWS_KMS
    key_id: str | None = None
    context: str | None = None
    bucket_key: bool | None = None


@quick_init
@dataclass(frozen=True)
class WriteEncryption:
    """What a write's headers ask for: a mode (None: the bucket default), an SSE-C key or
    the SSE-KMS choices."""

    mode: str | None
    customer: CustomerKey | None = None
    kms: KmsRequest | None = None


def _context(value: str) -> str:
    """The encryption context header, checked: base64 of a JSON object of strings."""
    try:
        document = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in document.items()
    ):
        raise _invalid(
            "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 "
            "string holding JSON which represents a string-string map",
            CONTEXT_HEADER,
        )
    return value


def _kms_request(headers: Mapping[str, str], method: str | None) -> KmsRequest | None:
    key_id = headers.get(KMS_KEY_HEADER)
    context = headers.get(CONTEXT_HEADER)
    bucket_key = headers.get(BUCKET_KEY_HEADER)
    if method != SSE_KMS:
        if key_id is not None or context is not None:
            raise _invalid(
                "Server Side Encryption with AWS KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
                SSE_HEADER,
                headers.get(SSE_HEADER),
            )
        return None
    enabled: bool | None = None
    if bucket_key is not None:
        if bucket_key.lower() not in ("true", "false"):
            raise _invalid("Invalid value for bucket key enabled", BUCKET_KEY_HEADER, bucket_key)
        enabled = bucket_key.lower() == "true"
    return KmsRequest(
        headers[SSE_HEADER],
        key_id or None,
        None if context is None else _context(context),
        enabled,
    )


def write_encryption(headers: Mapping[str, str], *, secure: bool) -> WriteEncryption:
    """PutObject, CopyObject (destination), CreateMultipartUpload and POST Object headers.

    `secure`: the request came over https, or the operator allows SSE-C over http.
    """
    method = sse_method(headers.get(SSE_HEADER))
    kms = _kms_request(headers, method)
    customer = customer_key(headers)
    if customer is None:
        return WriteEncryption(method, None, kms)
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


@dataclass(frozen=True)
class KmsAnswer:
    """What S3 says of an SSE-KMS object: the algorithm as sent, the key's ARN, the
    context (writes only echo it) and whether bucket keys are on."""

    algorithm: str
    key_arn: str
    context: str | None = None
    bucket_key: bool = False


def response_headers(
    mode: str | None,
    customer: CustomerKey | None,
    kms: KmsAnswer | None = None,
    *,
    with_context: bool = False,
) -> dict[str, str]:
    """The x-amz-server-side-encryption* headers S3 answers for an object in `mode`
    (PutObject, CopyObject and CreateMultipartUpload echo the encryption context too)."""
    if mode == SSE_S3:
        return {SSE_HEADER: AES256}
    if mode == SSE_KMS and kms is not None:
        out = {SSE_HEADER: kms.algorithm, KMS_KEY_HEADER: kms.key_arn}
        if with_context and kms.context is not None:
            out[CONTEXT_HEADER] = kms.context
        if kms.bucket_key:
            out[BUCKET_KEY_HEADER] = "true"
        return out
    if mode == SSE_C and customer is not None:
        return {
            CUSTOMER_PREFIX + "algorithm": AES256,
            CUSTOMER_PREFIX + "key-MD5": customer.md5_b64,
        }
    return {}
