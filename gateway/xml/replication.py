"""XML of Put/GetBucketReplication (ReplicationConfiguration), registered with
gateway.xml.codec (importing this module registers it); the model is gateway.s3.replication's.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_ReplicationConfiguration.html:
Role, then Rule+ of ID?, Priority?, Prefix? (V1) or Filter (Prefix | Tag | And of Prefix?
and Tag*), Status, SourceSelectionCriteria/ReplicaModifications/Status?,
ExistingObjectReplication/Status?, Destination (Bucket, StorageClass?, Account?),
DeleteMarkerReplication/Status?. Missing required elements and bad values: MalformedXML.
"""

from __future__ import annotations

from gateway.s3.replication import And, Destination, Filter, ReplicationConfiguration, Rule
from gateway.xml.codec import (
    Element,
    _add,
    _children,
    _malformed,
    _root,
    _text,
    parse_integer,
    parses,
    renders,
)
from gateway.xml.tagging import parse_tag, render_tag


def _one(parent: Element, name: str) -> Element | None:
    found = _children(parent, name)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def _status(parent: Element, name: str) -> bool:
    """<name><Status>Enabled|Disabled</Status></name>; absent is Disabled."""
    el = _one(parent, name)
    if el is None:
        return False
    status = (_text(el, "Status", required=True) or "").strip()
    if status not in ("Enabled", "Disabled"):
        raise _malformed()
    return status == "Enabled"


def _render_status(parent: Element, name: str, enabled: bool) -> None:
    _add(_add(parent, name), "Status", "Enabled" if enabled else "Disabled")


def _render_filter(parent: Element, f: Filter) -> None:
    el = _add(parent, "Filter")
    if f.and_ is not None:
        and_ = _add(el, "And")
        if f.and_.prefix is not None:
            _add(and_, "Prefix", f.and_.prefix)
        for tag in f.and_.tags:
            render_tag(and_, tag)
    elif f.tag is not None:
        render_tag(el, f.tag)
    elif f.prefix is not None:
        _add(el, "Prefix", f.prefix)


@renders(ReplicationConfiguration)
def _render_replication(model: ReplicationConfiguration) -> Element:
    root = _root("ReplicationConfiguration")
    _add(root, "Role", model.role)
    for rule in model.rules:
        el = _add(root, "Rule")
        if rule.id is not None:
            _add(el, "ID", rule.id)
        if rule.priority is not None:
            _add(el, "Priority", str(rule.priority))
        if rule.filter is not None:
            _render_filter(el, rule.filter)
        elif rule.prefix is not None:
            _add(el, "Prefix", rule.prefix)
        _add(el, "Status", rule.status)
        if rule.replica_modifications:
            _render_status(_add(el, "SourceSelectionCriteria"), "ReplicaModifications", True)
        _render_status(el, "ExistingObjectReplication", rule.existing_object_replication)
        dest = _add(el, "Destination")
        _add(dest, "Bucket", rule.destination.bucket)
        if rule.destination.account is not None:
            _add(dest, "Account", rule.destination.account)
        if rule.destination.storage_class is not None:
            _add(dest, "StorageClass", rule.destination.storage_class)
        _render_status(el, "DeleteMarkerReplication", rule.delete_marker_replication)
    return root


def _parse_filter(el: Element) -> Filter:
    prefix = _text(el, "Prefix")
    tag = _one(el, "Tag")
    and_ = _one(el, "And")
    if sum(x is not None for x in (prefix, tag, and_)) > 1:
        raise _malformed()
    if and_ is not None:
        return Filter(
            and_=And(
                prefix=_text(and_, "Prefix"),
                tags=tuple(parse_tag(t) for t in _children(and_, "Tag")),
            )
        )
    return Filter(prefix=prefix, tag=parse_tag(tag) if tag is not None else None)


def _parse_rule(el: Element) -> Rule:
    status = (_text(el, "Status", required=True) or "").strip()
    dest = _one(el, "Destination")
    if dest is None:
        raise _malformed()
    bucket = (_text(dest, "Bucket", required=True) or "").strip()
    f = _one(el, "Filter")
    prefix = _text(el, "Prefix")
    if f is not None and prefix is not None:
        raise _malformed()  # AWS: a rule has a Filter (V2) or a Prefix (V1), not both
    criteria = _one(el, "SourceSelectionCriteria")
    return Rule(
        status=status,
        destination=Destination(
            bucket,
            storage_class=_text(dest, "StorageClass"),
            account=_text(dest, "Account"),
        ),
        id=_text(el, "ID"),
        priority=parse_integer(_text(el, "Priority")),
        filter=_parse_filter(f) if f is not None else None,
        prefix=prefix,
        delete_marker_replication=_status(el, "DeleteMarkerReplication"),
        existing_object_replication=_status(el, "ExistingObjectReplication"),
        replica_modifications=(
            _status(criteria, "ReplicaModifications") if criteria is not None else False
        ),
    )


@parses(ReplicationConfiguration, "ReplicationConfiguration")
def _parse_replication(root: Element) -> ReplicationConfiguration:
    rules = tuple(_parse_rule(el) for el in _children(root, "Rule"))
    return ReplicationConfiguration(role=_text(root, "Role") or "", rules=rules)
