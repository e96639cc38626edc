"""XML of bucket lifecycle configurations (lifecycle.rules models), registered with
gateway.xml.codec.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html

The parser checks the schema (MalformedXML); lifecycle.rules.validate() checks the rest and
then refuses storage class transitions (NotImplemented: there is one storage tier).
A bucket's configuration is stored as the document render() makes of the parsed model,
and read back with load_configuration() (cached: the text is read on every GET).
"""

from __future__ import annotations

from functools import lru_cache

from gateway.s3.headers import iso8601
from gateway.s3.object_lock import parse_timestamp
from gateway.xml.codec import (
    Element,
    _add,
    _bool,
    _children,
    _malformed,
    _parse_bool,
    _root,
    _text,
    parse,
    parse_integer,
    parses,
    renders,
)
from gateway.xml.tagging import parse_tag, render_tag
from lifecycle.rules import (
    AbortIncompleteMultipartUpload,
    And,
    Expiration,
    Filter,
    LifecycleConfiguration,
    NoncurrentVersionExpiration,
    Rule,
    Transition,
)

# A configuration of 1,000 rules with a few tags each fits with room to spare.
MAX_CONFIGURATION_BYTES = 1024 * 1024


def _one(parent: Element, name: str) -> Element | None:
    found = _children(parent, name)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def _required_int(parent: Element, name: str) -> int:
    value = parse_integer(_text(parent, name, required=True))
    assert value is not None
    return value


# -- rendering --------------------------------------------------------------------------------


def _render_sizes(parent: Element, greater: int | None, less: int | None) -> None:
    if greater is not None:
        _add(parent, "ObjectSizeGreaterThan", str(greater))
    if less is not None:
        _add(parent, "ObjectSizeLessThan", str(less))


def _render_filter(parent: Element, f: Filter) -> None:
    el = _add(parent, "Filter")
    if f.prefix is not None:
        _add(el, "Prefix", f.prefix)
    if f.tag is not None:
        render_tag(el, f.tag)
    _render_sizes(el, f.size_greater_than, f.size_less_than)
    if f.and_ is not None:
        a = _add(el, "And")
        if f.and_.prefix is not None:
            _add(a, "Prefix", f.and_.prefix)
        for tag in f.and_.tags:
            render_tag(a, tag)
        _render_sizes(a, f.and_.size_greater_than, f.and_.size_less_than)


def _render_rule(parent: Element, rule: Rule) -> None:
    el = _add(parent, "Rule")
    if rule.id is not None:
        _add(el, "ID", rule.id)
    if rule.filter is not None:
        _render_filter(el, rule.filter)
    if rule.prefix is not None:
        _add(el, "Prefix", rule.prefix)
    _add(el, "Status", rule.status)
    exp = rule.expiration
    if exp is not None:
        e = _add(el, "Expiration")
        if exp.days is not None:
            _add(e, "Days", str(exp.days))
        if exp.date is not None:
            _add(e, "Date", iso8601(exp.date))
        if exp.expired_object_delete_marker is not None:
            _add(e, "ExpiredObjectDeleteMarker", _bool(exp.expired_object_delete_marker))
    nve = rule.noncurrent_version_expiration
    if nve is not None:
        n = _add(el, "NoncurrentVersionExpiration")
        _add(n, "NoncurrentDays", str(nve.noncurrent_days))
        if nve.newer_noncurrent_versions is not None:
            _add(n, "NewerNoncurrentVersions", str(nve.newer_noncurrent_versions))
    abort = rule.abort_incomplete_multipart_upload
    if abort is not None:
        a = _add(el, "AbortIncompleteMultipartUpload")
        _add(a, "DaysAfterInitiation", str(abort.days_after_initiation))


@renders(LifecycleConfiguration)
def _render_lifecycle(model: LifecycleConfiguration) -> Element:
    root = _root("LifecycleConfiguration")
    for rule in model.rules:
        _render_rule(root, rule)
    return root


# -- parsing ----------------------------------------------------------------------------------


def _parse_and(el: Element) -> And:
    return And(
        prefix=_text(el, "Prefix"),
        tags=tuple(parse_tag(t) for t in _children(el, "Tag")),
        size_greater_than=parse_integer(_text(el, "ObjectSizeGreaterThan")),
        size_less_than=parse_integer(_text(el, "ObjectSizeLessThan")),
    )


def _parse_filter(el: Element) -> Filter:
    tag = _one(el, "Tag")
    and_ = _one(el, "And")
    return Filter(
        prefix=_text(el, "Prefix"),
        tag=parse_tag(tag) if tag is not None else None,
        size_greater_than=parse_integer(_text(el, "ObjectSizeGreaterThan")),
        size_less_than=parse_integer(_text(el, "ObjectSizeLessThan")),
        and_=_parse_and(and_) if and_ is not None else None,
    )


def _parse_date(el: Element) -> float | None:
    date_text = _text(el, "Date")
    if date_text is None:
        return None
    date = parse_timestamp(date_text)
    if date is None:
        raise _malformed()
    return date


def _parse_transition(el: Element, *, noncurrent: bool) -> Transition:
    if noncurrent:
        return Transition(
            storage_class=_text(el, "StorageClass"),
            days=_required_int(el, "NoncurrentDays"),
            noncurrent=True,
            newer_noncurrent_versions=parse_integer(_text(el, "NewerNoncurrentVersions")),
        )
    return Transition(
        storage_class=_text(el, "StorageClass"),
        days=parse_integer(_text(el, "Days")),
        date=_parse_date(el),
    )


def _parse_expiration(el: Element) -> Expiration:
    date = _parse_date(el)
    marker = _text(el, "ExpiredObjectDeleteMarker")
    return Expiration(
        days=parse_integer(_text(el, "Days")),
        date=date,
        expired_object_delete_marker=_parse_bool(marker) if marker is not None else None,
    )


def _parse_rule(el: Element) -> Rule:
    status = _text(el, "Status", required=True)
    assert status is not None
    f = _one(el, "Filter")
    exp = _one(el, "Expiration")
    nve = _one(el, "NoncurrentVersionExpiration")
    abort = _one(el, "AbortIncompleteMultipartUpload")
    return Rule(
        status=status,
        id=_text(el, "ID"),
        filter=_parse_filter(f) if f is not None else None,
        prefix=_text(el, "Prefix"),
        expiration=_parse_expiration(exp) if exp is not None else None,
        noncurrent_version_expiration=(
            NoncurrentVersionExpiration(
                noncurrent_days=_required_int(nve, "NoncurrentDays"),
                newer_noncurrent_versions=parse_integer(_text(nve, "NewerNoncurrentVersions")),
            )
            if nve is not None
            else None
        ),
        abort_incomplete_multipart_upload=(
            AbortIncompleteMultipartUpload(_required_int(abort, "DaysAfterInitiation"))
            if abort is not None
            else None
        ),
        transitions=tuple(
            _parse_transition(t, noncurrent=False) for t in _children(el, "Transition")
        )
        + tuple(
            _parse_transition(t, noncurrent=True)
            for t in _children(el, "NoncurrentVersionTransition")
        ),
    )


@parses(LifecycleConfiguration, "LifecycleConfiguration")
def _parse_lifecycle(root: Element) -> LifecycleConfiguration:
    return LifecycleConfiguration(tuple(_parse_rule(el) for el in _children(root, "Rule")))


@lru_cache(maxsize=1024)
def load_configuration(stored: str) -> LifecycleConfiguration:
    """A stored configuration (the rendered document) as its model."""
    return parse(LifecycleConfiguration, stored.encode(), max_size=MAX_CONFIGURATION_BYTES)
