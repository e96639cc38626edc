"""Conditional requests, every rule in one place. Pure.

- check_preconditions(): If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since
  of GetObject/HeadObject (RFC 7232).
- check_copy_source_preconditions(): x-amz-copy-source-if-* of CopyObject/UploadPartCopy.
- put_precondition() and check_write_precondition(): S3 conditional writes (If-None-Match
  and If-Match on PutObject, CopyObject, CompleteMultipartUpload), checked once before the
  body streams and again inside the metadata transaction that commits the version
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
- delete_condition() and check_delete_condition(): S3 conditional deletes (DeleteObject's
  If-Match, x-amz-if-match-last-modified-time, x-amz-if-match-size; the same per entry of
  DeleteObjects), checked inside the transaction that deletes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import DeleteCondition, ObjectVersion, Precondition
from gateway.s3.headers import http_date, parse_http_date, quote_etag

# -- reads and copy sources: RFC 7232 -----------------------------------------------------


class _Outcome(Enum):
    PROCEED = "proceed"
    NOT_MODIFIED = "not-modified"  # If-None-Match matched / If-Modified-Since not modified
    FAILED = "failed"  # If-Match / If-Unmodified-Since failed


def _etag_list(value: str) -> list[tuple[bool, str]]:
    """Entity tags of an If-Match / If-None-Match value as (weak, opaque tag).

    ETags here are hex (with an optional "-N"), so splitting on commas is safe. Unquoted
    tags are accepted: SDK users often pass the bare ETag.
    """
    tags = []
    for item in value.split(","):
        item = item.strip()
        weak = item[:2] in ("W/", "w/")
        if weak:
            item = item[2:]
        if len(item) >= 2 and item[0] == item[-1] == '"':
            item = item[1:-1]
        if item:
            tags.append((weak, item))
    return tags


def _matches(value: str, etag: str, *, weak_ok: bool) -> bool:
    """RFC 7232 §2.3.2: strong comparison for If-Match, weak for If-None-Match."""
    if value.strip() == "*":
        return True
    return any(tag == etag and (weak_ok or not weak) for weak, tag in _etag_list(value))


def _evaluate(
    if_match: str | None,
    if_none_match: str | None,
    if_unmodified_since: str | None,
    if_modified_since: str | None,
    etag: str,
    last_modified: float,
) -> tuple[_Outcome, str]:
    """RFC 7232 §6 evaluation order, with the name of the deciding condition.

    Dates compare at the 1 s resolution of Last-Modified; unparseable dates are ignored
    (RFC 7232 §3.3, §3.4).
    """
    modified = math.floor(last_modified)
    if if_match is not None:
        if not _matches(if_match, etag, weak_ok=False):
            return _Outcome.FAILED, "If-Match"
    elif if_unmodified_since is not None:
        since = parse_http_date(if_unmodified_since)
        if since is not None and modified > since:
            return _Outcome.FAILED, "If-Unmodified-Since"
    if if_none_match is not None:
        if _matches(if_none_match, etag, weak_ok=True):
            return _Outcome.NOT_MODIFIED, "If-None-Match"
    elif if_modified_since is not None:
        since = parse_http_date(if_modified_since)
        if since is not None and modified <= since:
            return _Outcome.NOT_MODIFIED, "If-Modified-Since"
    return _Outcome.PROCEED, ""


def check_preconditions(
    headers: Mapping[str, str], etag: str, last_modified: float, *, method: str
) -> None:
    """If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since (RFC 7232).

    As GetObject/HeadObject apply them
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): If-Match true
    overrides a failing If-Unmodified-Since; If-None-Match overrides If-Modified-Since.
    GET/HEAD answer 304 NotModified where other methods answer 412 (RFC 7232 §3.2), and
    If-Modified-Since applies to GET/HEAD only. `etag` is unquoted.
    """
    safe = method.upper() in ("GET", "HEAD")
    outcome, condition = _evaluate(
        headers.get("if-match"),
        headers.get("if-none-match"),
        headers.get("if-unmodified-since"),
        headers.get("if-modified-since") if safe else None,
        etag,
        last_modified,
    )
    if outcome is _Outcome.FAILED or (outcome is _Outcome.NOT_MODIFIED and not safe):
        raise S3Error(S3ErrorCode.PRECONDITION_FAILED, Condition=condition)
    if outcome is _Outcome.NOT_MODIFIED:
        # RFC 7232 §4.1: a 304 carries the validators a 200 would have.
        raise S3Error(
            S3ErrorCode.NOT_MODIFIED,
            headers={"ETag": quote_etag(etag), "Last-Modified": http_date(last_modified)},
        )


def check_copy_source_preconditions(
    headers: Mapping[str, str], etag: str, last_modified: float
) -> None:
    """x-amz-copy-source-if-* against the source object; every failure is 412.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: if-match true
    with if-unmodified-since false copies; if-none-match false with if-modified-since
    true fails. That is the RFC 7232 order with NOT_MODIFIED turned into 412.
    """
    outcome, _ = _evaluate(
        headers.get("x-amz-copy-source-if-match"),
        headers.get("x-amz-copy-source-if-none-match"),
        headers.get("x-amz-copy-source-if-unmodified-since"),
        headers.get("x-amz-copy-source-if-modified-since"),
        etag,
        last_modified,
    )
    if outcome is not _Outcome.PROCEED:
        raise S3Error(S3ErrorCode.PRECONDITION_FAILED)


# -- writes: S3 conditional writes ----------------------------------------------------------


def _write_etags(value: str) -> tuple[str, ...]:
    """The ETags of a conditional write header, unquoted ("*" stays "*")."""
    if value.strip() == "*":
        return ("*",)
    return tuple(tag for _, tag in _etag_list(value))


def put_precondition(headers: Mapping[str, str]) -> Precondition | None:
    """If-None-Match (* or ETags) and If-Match (* or ETags) on writes."""
    if_none_match = headers.get("if-none-match")
    if_match = headers.get("if-match")
    if if_none_match is None and if_match is None:
        return None
    none_match = _write_etags(if_none_match) if if_none_match is not None else ()
    etag = None
    if if_match is not None:
        tags = _write_etags(if_match)
        etag = ", ".join(tags) if tags else if_match.strip()
    return Precondition(
        if_match=etag,
        if_none_match_any=none_match == ("*",),
        if_none_match=() if none_match == ("*",) else none_match,
    )


def check_write_precondition(pre: Precondition | None, current_etag: str | None, key: str) -> None:
    """A conditional write against the key's latest version: `current_etag` is its ETag,
    None when the key is absent or its latest version is a delete marker.

    Inside the transaction of a write whose conditions already held when it began
    (`pre.prechecked`), a failure means a concurrent write or delete committed in
    between: S3 answers 409 ConditionalRequestConflict then, 412 otherwise
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, If-Match).
    """
    if pre is None:
        return
    conflict = S3ErrorCode.CONDITIONAL_REQUEST_CONFLICT if pre.prechecked else None
    if current_etag is not None and (
        pre.if_none_match_any or _matches(", ".join(pre.if_none_match), current_etag, weak_ok=True)
    ):
        raise S3Error(conflict or S3ErrorCode.PRECONDITION_FAILED, Condition="If-None-Match")
    if pre.if_match is not None:
        if current_etag is None:
            raise S3Error(conflict or S3ErrorCode.NO_SUCH_KEY, Key=key)
        if not _matches(pre.if_match, current_etag, weak_ok=False):
            raise S3Error(conflict or S3ErrorCode.PRECONDITION_FAILED, Condition="If-Match")


# -- deletes: S3 conditional deletes ---------------------------------------------------------


def delete_condition(
    if_match: str | None, last_modified: str | None, size: str | None
) -> DeleteCondition | None:
    """If-Match, x-amz-if-match-last-modified-time and x-amz-if-match-size of DeleteObject,
    or the ETag, LastModifiedTime and Size of a DeleteObjects entry. The time is an HTTP
    date (botocore sends one in the header and in the XML alike) or ISO 8601, as XML
    timestamps usually are. Malformed values are InvalidArgument."""
    if if_match is None and last_modified is None and size is None:
        return None
    when = None
    if last_modified is not None:
        when = parse_http_date(last_modified)
        if when is None:
            when = _iso_time(last_modified)
        if when is None:
            raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "Invalid LastModifiedTime")
    length = None
    if size is not None:
        try:
            length = int(size.strip())
        except ValueError:
            length = -1
        if length < 0:
            raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "Invalid Size")
    return DeleteCondition(if_match=if_match, last_modified=when, size=length)


def _iso_time(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _same_time(stored: float, given: float) -> bool:
    """At the precision the caller gave: whole seconds (an HTTP date, or an ISO time
    without fraction) or milliseconds (listings render LastModified in ms)."""
    if given == math.floor(given):
        return math.floor(stored) == given
    # As gateway.s3.headers.iso8601 renders it (floored, with its 1 µs of slack).
    return math.floor(stored * 1000 + 1e-3) == round(given * 1000)


def check_delete_condition(
    cond: DeleteCondition | None, target: ObjectVersion | None, key: str
) -> None:
    """A conditional delete against `target`: the latest version, or the version named
    by id; None (or a delete marker) when there is no object.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html: If-Match
    on a missing object is 404 NoSuchKey; the time and size conditions let the delete of
    a missing object succeed (API_DeleteObject.html); any mismatch is 412.
    """
    if cond is None:
        return
    if target is None or target.is_delete_marker:
        if cond.if_match is not None:
            raise S3Error(S3ErrorCode.NO_SUCH_KEY, Key=key)
        return
    if cond.if_match is not None and not _matches(cond.if_match, target.etag, weak_ok=False):
        raise S3Error(S3ErrorCode.PRECONDITION_FAILED, Condition="If-Match")
    if cond.last_modified is not None and not _same_time(target.last_modified, cond.last_modified):
        raise S3Error(
            S3ErrorCode.PRECONDITION_FAILED, Condition="x-amz-if-match-last-modified-time"
        )
    if cond.size is not None and cond.size != target.size:
        raise S3Error(S3ErrorCode.PRECONDITION_FAILED, Condition="x-amz-if-match-size")
