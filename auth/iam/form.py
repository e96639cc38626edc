"""The query protocol's request: form-encoded parameters, decoded and validated. Pure.

A request is `Action=CreateUser&Version=2010-05-08&UserName=bob` in an
application/x-www-form-urlencoded POST body (what the SDKs send) or in the query string of
a GET (https://docs.aws.amazon.com/IAM/latest/APIReference/iam-api.pdf, "Making query
requests"). The body is small: at most MAX_FORM_BYTES are read (RequestEntityTooLarge
past that; the largest legitimate parameter, a policy document, is a few KB).

Parameter constraints are the IAM API reference's (e.g. CreateUser: UserName
`[\\w+=,.@-]+`, 1-64 characters; Path `(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from auth.iam.errors import IamError, IamErrorCode
from auth.policy.model import MalformedPolicy, PolicyKind, PolicyTooLarge, parse_policy

MAX_FORM_BYTES = 64 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Query parameters that carry the signature, never an operation's input.
_AUTH_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
        "X-Amz-Content-Sha256",
    }
)

_NAME = re.compile(r"[\w+=,.@-]+")
_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_PATH_PREFIX = re.compile(r"/[\x21-\x7e]*")
_ACCESS_KEY_ID = re.compile(r"\w+")
_MARKER = re.compile(r"[\x20-\xff]+")


def decode_form(body: bytes) -> list[tuple[str, str]]:
    """The pairs of a form body (`+` is a space); malformed encoding is InvalidInput."""
    if len(body) > MAX_FORM_BYTES:
        raise IamError(IamErrorCode.REQUEST_ENTITY_TOO_LARGE)
    try:
        text = body.decode("ascii")  # a form body is percent-encoded ASCII
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise IamError(IamErrorCode.INVALID_INPUT, "The request body is not a valid form") from exc


def _invalid(name: str, value: str | None, constraint: str) -> IamError:
    shown = "null" if value is None else value[:128]
    return IamError(
        IamErrorCode.VALIDATION_ERROR,
        f"1 validation error detected: Value '{shown}' at '{name[:1].lower() + name[1:]}' "
        f"failed to satisfy constraint: {constraint}",
    )


@dataclass(frozen=True)
class Params:
    """An operation's parameters by name (the body's win over the query's)."""

    values: Mapping[str, str]

    @classmethod
    def of(cls, *sources: Iterable[tuple[str, str]]) -> Params:
        merged: dict[str, str] = {}
        for pairs in sources:
            for name, value in pairs:
                if name not in _AUTH_PARAMS:
                    merged[name] = value
        return cls(merged)

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def required(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            raise _invalid(name, None, "Member must not be null")
        return value

    def name(self, param: str, *, max_len: int = 128, required: bool = True) -> str | None:
        """A user, group or policy name: `[\\w+=,.@-]+` of 1..max_len characters."""
        value = self.required(param) if required else self.values.get(param)
        if value is None:
            return None
        if not 1 <= len(value) <= max_len:
            raise _invalid(param, value, f"Member must have length between 1 and {max_len}")
        if not _NAME.fullmatch(value):
            raise _invalid(
                param,
                value,
                "Member must satisfy regular expression pattern: "
                r"[\w+=,.@-]+",
            )
        return value

    def user_name(self, param: str = "UserName", *, required: bool = True) -> str | None:
        return self.name(param, max_len=64, required=required)

    def path(self) -> str:
        value = self.values.get("Path", "/")
        if not 1 <= len(value) <= 512 or not _PATH.fullmatch(value):
            raise _invalid(
                "Path",
                value,
                "Member must satisfy regular expression pattern: "
                r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
            )
        return value

    def path_prefix(self) -> str:
        value = self.values.get("PathPrefix", "/")
        if not 1 <= len(value) <= 512 or not _PATH_PREFIX.fullmatch(value):
            raise _invalid(
                "PathPrefix",
                value,
                "Member must satisfy regular expression "
                r"pattern: \u002F[\u0021-\u007F]*",
            )
        return value

    def marker(self) -> str:
        value = self.values.get("Marker")
        if value is None:
            return ""
        if not 1 <= len(value) <= 320 or not _MARKER.fullmatch(value):
            raise _invalid("Marker", value, "Member must have length between 1 and 320")
        return value

    def max_items(self) -> int:
        """MaxItems: 1..1000, default 100."""
        value = self.values.get("MaxItems")
        if value is None:
            return 100
        if not value.isascii() or not value.isdigit() or not 1 <= int(value[:5]) <= 1000:
            raise _invalid("MaxItems", value, "Member must have value between 1 and 1000")
        return int(value)

    def access_key_id(self) -> str:
        value = self.required("AccessKeyId")
        if not 16 <= len(value) <= 128 or not _ACCESS_KEY_ID.fullmatch(value):
            raise _invalid("AccessKeyId", value, "Member must have length between 16 and 128")
        return value

    def status(self) -> bool:
        """Status: Active (True) or Inactive (False)."""
        value = self.required("Status")
        if value not in ("Active", "Inactive"):
            raise _invalid(
                "Status", value, "Member must satisfy enum value set: [Active, Inactive]"
            )
        return value == "Active"

    def flag(self, param: str) -> bool:
        value = self.values.get(param, "false").lower()
        if value not in ("true", "false"):
            raise _invalid(param, value, "Member must be true or false")
        return value == "true"


def check_policy_document(document: str, max_chars: int) -> str:
    """An identity policy document as IAM checks it: MalformedPolicyDocument, or
    LimitExceeded past `max_chars` non-whitespace characters."""
    try:
        parse_policy(document, PolicyKind.IDENTITY, max_chars=max_chars)
    except PolicyTooLarge as exc:
        raise IamError(IamErrorCode.LIMIT_EXCEEDED, exc.reason) from exc
    except MalformedPolicy as exc:
        raise IamError(IamErrorCode.MALFORMED_POLICY_DOCUMENT, exc.reason) from exc
    return document
