"""XML of ObjectLockConfiguration, Retention and LegalHold, registered with gateway.xml.codec
(importing this module registers them); the models and rules are gateway.s3.object_lock's."""

from __future__ import annotations

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.headers import iso8601
from gateway.s3.object_lock import (
    MODES,
    DefaultRetention,
    LegalHold,
    ObjectLockConfiguration,
    Retention,
    parse_timestamp,
)
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

# -- Object Lock: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html


@renders(ObjectLockConfiguration)
def _render_lock_configuration(model: ObjectLockConfiguration) -> Element:
    root = _root("ObjectLockConfiguration")
    if model.enabled:
        _add(root, "ObjectLockEnabled", "Enabled")
    rule = model.default_retention
    if rule is not None:
        el = _add(_add(root, "Rule"), "DefaultRetention")
        _add(el, "Mode", rule.mode)
        if rule.days is not None:
            _add(el, "Days", str(rule.days))
        if rule.years is not None:
            _add(el, "Years", str(rule.years))
    return root


@parses(ObjectLockConfiguration, "ObjectLockConfiguration")
def _parse_lock_configuration(root: Element) -> ObjectLockConfiguration:
    enabled = _text(root, "ObjectLockEnabled")
    if enabled not in (None, "Enabled"):
        raise _malformed()
    rules = _children(root, "Rule")
    if len(rules) > 1:
        raise _malformed()
    default = None
    if rules:
        found = _children(rules[0], "DefaultRetention")
        if len(found) != 1:
            raise _malformed()
        el = found[0]
        mode = _text(el, "Mode", required=True)
        default = DefaultRetention(
            mode=mode or "",
            days=parse_integer(_text(el, "Days")),
            years=parse_integer(_text(el, "Years")),
        )
    return ObjectLockConfiguration(enabled == "Enabled", default)


# https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html


@renders(Retention)
def _render_retention(model: Retention) -> Element:
    root = _root("Retention")
    if model.mode is not None:
        _add(root, "Mode", model.mode)
    if model.retain_until is not None:
        _add(root, "RetainUntilDate", iso8601(model.retain_until))
    return root


@parses(Retention, "Retention")
def _parse_retention(root: Element) -> Retention:
    mode = _text(root, "Mode")
    until_text = _text(root, "RetainUntilDate")
    if (mode is None) != (until_text is None):
        raise _malformed()
    if mode is None or until_text is None:
        return Retention()
    until = parse_timestamp(until_text)
    if mode not in MODES or until is None:
        raise _malformed()
    return Retention(mode, until)


# https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html


@renders(LegalHold)
def _render_legal_hold(model: LegalHold) -> Element:
    root = _root("LegalHold")
    _add(root, "Status", "ON" if model.on else "OFF")
    return root


@parses(LegalHold, "LegalHold")
def _parse_legal_hold(root: Element) -> LegalHold:
    status = _text(root, "Status", required=True)
    if status not in ("ON", "OFF"):
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    return LegalHold(status == "ON")
