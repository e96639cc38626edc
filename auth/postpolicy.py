"""The POST policy document and the form's signature (POST Object). Pure.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html: the
`policy` field is a base64 JSON document `{"expiration": ISO 8601, "conditions": [...]}`;
each condition is `{"field": "value"}` (exact), `["eq", "$field", "value"]`,
`["starts-with", "$field", "prefix"]` or `["content-length-range", min, max]`. Field
names compare case-insensitively, values case-sensitively. Every form field must be named
by some condition, except the signature fields, `file`, `policy` and `x-ignore-*`.

The signature signs the base64 policy as sent:
- V4 (sigv4-authentication-HTTPPOST.html): `x-amz-signature` = hex HMAC-SHA256 under the
  signing key of `x-amz-credential`'s scope; `x-amz-algorithm`, `x-amz-credential` and
  `x-amz-date` are form fields (and so must be covered by conditions).
- V2 (HTTPPOSTForms.html): `signature` = base64 HMAC-SHA1 under the secret key, with
  `AWSAccessKeyId`.
A form with neither is anonymous: no policy, and the bucket must let anyone write.

Failures are S3's: AccessDenied "Invalid according to Policy: ..." for an expired policy,
a failed condition or an extra field; InvalidPolicyDocument for a document that does not
parse; EntityTooSmall / EntityTooLarge for content-length-range; SignatureDoesNotMatch.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from auth import sigv2, sigv4
from gateway.errors import S3Error, S3ErrorCode

# Fields no condition needs to name.
_EXEMPT = frozenset({"x-amz-signature", "signature", "awsaccesskeyid", "file", "policy"})
_EXEMPT_PREFIX = "x-ignore-"
_V4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")


class Operator(Enum):
    EQ = "eq"
    STARTS_WITH = "starts-with"
    CONTENT_LENGTH_RANGE = "content-length-range"


@dataclass(frozen=True)
class Condition:
    operator: Operator
    field: str  # lower-case, without the "$"; "" for content-length-range
    value: str = ""
    low: int = 0
    high: int = 0

    def __str__(self) -> str:
        """As S3 quotes it in "Policy Condition failed: ..."."""
        if self.operator is Operator.CONTENT_LENGTH_RANGE:
            return json.dumps([self.operator.value, self.low, self.high])
        return json.dumps([self.operator.value, f"${self.field}", self.value])


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    @property
    def length_range(self) -> tuple[int, int] | None:
        """The allowed file sizes (every content-length-range applies), or None."""
        ranges = [c for c in self.conditions if c.operator is Operator.CONTENT_LENGTH_RANGE]
        if not ranges:
            return None
        return max(c.low for c in ranges), min(c.high for c in ranges)


def _invalid(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_POLICY_DOCUMENT, f"Invalid Policy: {message}")


def _denied(message: str) -> S3Error:
    return S3Error(S3ErrorCode.ACCESS_DENIED, f"Invalid according to Policy: {message}")


def parse_post_policy(encoded: str) -> PostPolicy:
    """The `policy` field; InvalidPolicyDocument when it is not one."""
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid("Invalid Base64 Encoding.") from exc
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # deep nesting exhausts json's recursion
        raise _invalid("Invalid JSON.") from exc
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    expiration = document.get("expiration")
    if expiration is None:
        raise _invalid("Policy missing expiration.")
    if not isinstance(expiration, str):
        raise _invalid("Invalid 'expiration' value.")
    conditions = document.get("conditions")
    if conditions is None:
        raise _invalid("Policy missing conditions.")
    if not isinstance(conditions, list):
        raise _invalid("Invalid 'conditions' value.")
    return PostPolicy(_parse_expiration(expiration), tuple(_condition(c) for c in conditions))


def _parse_expiration(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid(f"Invalid 'expiration' value: '{text}'") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _scalar(value: object, condition: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _invalid(f"Invalid Condition: {json.dumps(condition)}")


def _length(value: object, condition: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    # ASCII digits only ("²".isdigit() is true too), saturated: int() refuses more than
    # 4300 digits, and no upload is larger than 10**18 bytes anyway.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        significant = value.lstrip("0")
        return int(significant or "0") if len(significant) <= 18 else 10**18
    raise _invalid(f"Invalid 'content-length-range' value: {json.dumps(condition)}")


def _condition(item: object) -> Condition:
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid(f"Invalid Simple-Condition: {json.dumps(item)}")
        ((name, value),) = item.items()
        return Condition(Operator.EQ, str(name).lower().lstrip("$"), _scalar(value, item))
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid(f"Invalid Condition: {json.dumps(item)}")
    name = item[0].lower()
    if name == Operator.CONTENT_LENGTH_RANGE.value:
        if len(item) != 3:
            raise _invalid(f"Invalid Condition: {json.dumps(item)}")
        low, high = _length(item[1], item), _length(item[2], item)
        return Condition(Operator.CONTENT_LENGTH_RANGE, "", low=low, high=high)
    if name not in (Operator.EQ.value, Operator.STARTS_WITH.value):
        raise _invalid(f"Invalid Condition: {json.dumps(item)}")
    if len(item) != 3 or not isinstance(item[1], str) or not item[1].startswith("$"):
        raise _invalid(f"Invalid Condition: {json.dumps(item)}")
    return Condition(Operator(name), item[1][1:].lower(), _scalar(item[2], item))


def check_policy(policy: PostPolicy, fields: Mapping[str, str], *, bucket: str, now: float) -> None:
    """Expiration, every condition, and no field left uncovered. `fields` have
    lower-case names; the bucket counts as the field `bucket`."""
    if policy.expiration.timestamp() <= now:
        raise _denied("Policy expired.")
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy.conditions:
        if condition.operator is Operator.CONTENT_LENGTH_RANGE:
            continue
        covered.add(condition.field)
        # An absent field is the empty string (as MinIO has it): `["starts-with",
        # "$Content-Type", ""]` allows a form that sends none.
        value = values.get(condition.field, "")
        if condition.operator is Operator.EQ:
            ok = value == condition.value
        else:
            ok = value.startswith(condition.value)
        if not ok:
            raise _denied(f"Policy Condition failed: {condition}")
    extra = [
        name
        for name in fields
        if name not in covered and name not in _EXEMPT and not name.startswith(_EXEMPT_PREFIX)
    ]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")


def check_length(policy: PostPolicy | None, size: int, *, complete: bool) -> None:
    """content-length-range against the file's bytes so far (`complete`: all of them)."""
    limits = policy.length_range if policy is not None else None
    if limits is None:
        return
    low, high = limits
    if size > high:
        raise S3Error(
            S3ErrorCode.ENTITY_TOO_LARGE,
            "Your proposed upload exceeds the maximum allowed size",
            ProposedSize=str(size),
            MaxSizeAllowed=str(high),
        )
    if complete and size < low:
        raise S3Error(
            S3ErrorCode.ENTITY_TOO_SMALL,
            "Your proposed upload is smaller than the minimum allowed size",
            ProposedSize=str(size),
            MinSizeAllowed=str(low),
        )


# -- who signed the form --------------------------------------------------------------------


class SignatureVersion(Enum):
    V4 = "AWS4-HMAC-SHA256"
    V2 = "AWS"


@dataclass(frozen=True)
class FormSignature:
    version: SignatureVersion
    access_key: str
    signature: str
    # V4's scope, from x-amz-credential
    date: str = ""
    region: str = ""


def _required(name: str) -> S3Error:
    return S3Error(
        S3ErrorCode.INVALID_ARGUMENT,
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check "
        "the order of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


def form_signature(fields: Mapping[str, str]) -> FormSignature | None:
    """The signature a form carries, None for an anonymous form (no signing field and no
    policy); InvalidArgument for an incomplete set."""
    if any(name in fields for name in _V4_FIELDS):
        for name in _V4_FIELDS:
            if name not in fields:
                raise _required(name)
        if "policy" not in fields:
            raise _required("policy")
        algorithm = fields["x-amz-algorithm"]
        if algorithm != sigv4.ALGORITHM:
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "Only AWS4-HMAC-SHA256 is supported",
                ArgumentName="x-amz-algorithm",
                ArgumentValue=algorithm,
            )
        if sigv4.parse_amz_date(fields["x-amz-date"]) is None:
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
                ArgumentName="x-amz-date",
                ArgumentValue=fields["x-amz-date"],
            )
        access_key, date, region = _credential(fields["x-amz-credential"])
        return FormSignature(
            SignatureVersion.V4, access_key, fields["x-amz-signature"], date, region
        )
    if "awsaccesskeyid" in fields or "signature" in fields or "policy" in fields:
        for name in ("awsaccesskeyid", "policy", "signature"):
            if name not in fields:
                raise _required("AWSAccessKeyId" if name == "awsaccesskeyid" else name)
        return FormSignature(SignatureVersion.V2, fields["awsaccesskeyid"], fields["signature"])
    return None


def _credential(value: str) -> tuple[str, str, str]:
    """(access key, date, region) of "AKID/YYYYMMDD/region/s3/aws4_request"."""
    parts = value.rsplit("/", 4)
    if (
        len(parts) != 5
        or not parts[0]
        or len(parts[1]) != 8
        or not parts[1].isdigit()
        or not parts[2]
        or parts[3] != "s3"
        or parts[4] != "aws4_request"
    ):
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Error parsing the X-Amz-Credential parameter",
            ArgumentName="x-amz-credential",
            ArgumentValue=value,
        )
    return parts[0], parts[1], parts[2]


def expected_signature(signed: FormSignature, policy: str, secret_key: str) -> str:
    if signed.version is SignatureVersion.V4:
        key = sigv4.signing_key(secret_key, signed.date, signed.region, "s3")
        return sigv4.sign(key, policy)
    return sigv2.sign(secret_key, policy)


def verify_signature(signed: FormSignature, policy: str, secret_key: str) -> None:
    """SignatureDoesNotMatch unless the form's signature signs `policy` (as sent)."""
    expected = expected_signature(signed, policy, secret_key)
    if not hmac.compare_digest(expected.encode(), signed.signature.encode()):
        raise S3Error(
            S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
            AWSAccessKeyId=signed.access_key,
            StringToSign=policy,
            SignatureProvided=signed.signature,
        )
