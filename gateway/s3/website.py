"""Static website hosting of a bucket: the configuration, its validation, and the rules the
website endpoint follows. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html and
https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-to-page-redirect.html. A
configuration either redirects every request to another host (RedirectAllRequestsTo), or
names an index document suffix, optionally an error document and up to 50 routing rules.

How the endpoint answers GET /KEY (gateway/website/endpoint.py does the I/O):
1. RedirectAllRequestsTo: 301 to PROTOCOL://HOSTNAME/KEY.
2. The first routing rule whose condition holds without an error code (no
   HttpErrorCodeReturnedEquals; KeyPrefixEquals, if any, matches KEY) redirects.
3. KEY (or KEY + suffix for `` and `dir/`: `index_key`) is served; an object carrying
   x-amz-website-redirect-location is a 301 to it instead; a missing KEY whose
   `KEY/suffix` exists is a 302 to `KEY/`.
4. On an error, the first rule whose HttpErrorCodeReturnedEquals is the status (and whose
   prefix matches) redirects; else the error document is served with the error's status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from gateway.errors import S3Error, S3ErrorCode

MAX_ROUTING_RULES = 50
MAX_CONFIGURATION_BYTES = 128 * 1024
PROTOCOLS = ("http", "https")
DEFAULT_REDIRECT_CODE = "301"
WEBSITE = "website"  # the bucket configuration document's name (gateway.meta.base)


@dataclass(frozen=True)
class Condition:
    key_prefix_equals: str | None = None
    http_error_code_returned_equals: str | None = None


@dataclass(frozen=True)
class Redirect:
    host_name: str | None = None
    http_redirect_code: str | None = None
    protocol: str | None = None
    replace_key_prefix_with: str | None = None
    replace_key_with: str | None = None


@dataclass(frozen=True)
class RoutingRule:
    redirect: Redirect
    condition: Condition | None = None


@dataclass(frozen=True)
class RedirectAllRequestsTo:
    host_name: str
    protocol: str | None = None


@dataclass(frozen=True)
class WebsiteConfiguration:
    index_suffix: str | None = None
    error_key: str | None = None
    redirect_all: RedirectAllRequestsTo | None = None
    routing_rules: tuple[RoutingRule, ...] = ()


# -- validation -------------------------------------------------------------------------------


def _invalid_protocol(protocol: str | None) -> None:
    if protocol is not None and protocol not in PROTOCOLS:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Invalid protocol, protocol can be http or https. If not defined the protocol "
            "will be selected automatically.",
        )


def validate(config: WebsiteConfiguration) -> None:
    """S3's checks of PutBucketWebsite (InvalidArgument, InvalidRequest, MalformedXML)."""
    if config.redirect_all is not None:
        if config.index_suffix is not None or config.error_key is not None or config.routing_rules:
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
                ArgumentName="RedirectAllRequestsTo",
                ArgumentValue="not null",
            )
        if not config.redirect_all.host_name:
            raise S3Error(S3ErrorCode.MALFORMED_XML)
        _invalid_protocol(config.redirect_all.protocol)
        return
    if config.index_suffix is None:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
            ArgumentName="IndexDocument",
            ArgumentValue="null",
        )
    if not config.index_suffix or "/" in config.index_suffix:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "The IndexDocument Suffix is not well formed",
            ArgumentName="IndexDocument",
            ArgumentValue=config.index_suffix,
        )
    if config.error_key is not None and not config.error_key:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if len(config.routing_rules) > MAX_ROUTING_RULES:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"{len(config.routing_rules)} routing rules provided, the number of routing rules "
            f"in a website configuration is limited to {MAX_ROUTING_RULES}.",
        )
    for rule in config.routing_rules:
        _validate_rule(rule)


def _is_status(code: str) -> bool:
    """Three ASCII digits ("3²³".isdigit() is true too, and int() refuses it)."""
    return len(code) == 3 and code.isascii() and code.isdigit()


def _validate_rule(rule: RoutingRule) -> None:
    condition, redirect = rule.condition, rule.redirect
    if condition is not None:
        code = condition.http_error_code_returned_equals
        if condition.key_prefix_equals is None and code is None:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                "Condition cannot be empty. To redirect all requests without a condition, the "
                "condition element shouldn't be present.",
            )
        if code is not None and not (_is_status(code) and code[0] in "45"):
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                f"The provided HTTP error code ({code}) is not valid. Valid codes are 4XX or 5XX.",
            )
    if redirect == Redirect():
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if redirect.replace_key_prefix_with is not None and redirect.replace_key_with is not None:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        )
    _invalid_protocol(redirect.protocol)
    code = redirect.http_redirect_code
    if code is not None and not (_is_status(code) and code[0] == "3" and code != "300"):
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"The provided HTTP redirect code ({code}) is not valid. Valid codes are 3XX "
            "except 300.",
        )


# -- the endpoint's rules -----------------------------------------------------------------------


def index_key(key: str, suffix: str | None) -> str:
    """The object a request for `key` serves: the index document for the root (``) and
    for "folders" (`dir/`), the key itself otherwise."""
    if suffix is not None and (not key or key.endswith("/")):
        return key + suffix
    return key


def directory_index(key: str, suffix: str | None) -> str | None:
    """For a key without a trailing slash, the index document that makes it a folder
    (`photos` -> `photos/index.html`): when that exists, S3 answers 302 to `photos/`."""
    if suffix is None or not key or key.endswith("/"):
        return None
    return f"{key}/{suffix}"


def _condition_holds(condition: Condition | None, key: str, status: int | None) -> bool:
    if condition is None:
        return status is None
    code = condition.http_error_code_returned_equals
    if (code is None) != (status is None) or (code is not None and code != str(status)):
        return False
    prefix = condition.key_prefix_equals
    return prefix is None or key.startswith(prefix)


def match_rule(
    rules: Sequence[RoutingRule], key: str, status: int | None = None
) -> RoutingRule | None:
    """The first rule that redirects a request for `key`: before the object is looked up
    (`status` None), only rules without an error code condition; once the request failed
    with `status`, only rules whose HttpErrorCodeReturnedEquals is that status."""
    for rule in rules:
        if _condition_holds(rule.condition, key, status):
            return rule
    return None


@dataclass(frozen=True)
class Origin:
    """Where the request came in: its scheme and Host, and the path before the key
    (`/bucket` when the bucket is named by the path, `` when by the Host)."""

    scheme: str
    host: str
    base: str = ""


def _path(key: str) -> str:
    return quote(key, safe="/~!$&'()*+,;=:@")


def rule_location(rule: RoutingRule, key: str, origin: Origin) -> tuple[int, str]:
    """(status, Location) of a routing rule's redirect of a request for `key`."""
    redirect = rule.redirect
    if redirect.replace_key_with is not None:
        new_key = redirect.replace_key_with
    elif redirect.replace_key_prefix_with is not None:
        prefix = (rule.condition.key_prefix_equals if rule.condition else None) or ""
        new_key = redirect.replace_key_prefix_with + key[len(prefix) :]
    else:
        new_key = key
    protocol = redirect.protocol or origin.scheme
    # Another host serves the key at its root; this endpoint's host keeps the bucket path.
    where = redirect.host_name or f"{origin.host}{origin.base}"
    status = int(redirect.http_redirect_code or DEFAULT_REDIRECT_CODE)
    return status, f"{protocol}://{where}/{_path(new_key)}"


def redirect_all_location(target: RedirectAllRequestsTo, key: str, origin: Origin) -> str:
    """Location of RedirectAllRequestsTo (always a 301): the same key on the other host."""
    return f"{target.protocol or origin.scheme}://{target.host_name}/{_path(key)}"


def folder_location(key: str, origin: Origin) -> str:
    """Location of the 302 from `photos` to `photos/`."""
    return f"{origin.base}/{_path(key)}/"


def object_redirect_location(value: str, origin: Origin) -> str:
    """Location of an object's x-amz-website-redirect-location (a 301): a URL as stored,
    a path within the bucket under the endpoint's addressing."""
    if value.startswith("/"):
        return origin.base + value
    return value


def valid_object_redirect(value: str) -> bool:
    """PutObject's x-amz-website-redirect-location: a path, or an http(s) URL."""
    return value.startswith(("/", "http://", "https://")) and len(value.encode()) <= 2048
