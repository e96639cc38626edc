"""XML of Put/GetBucketCors (CORSConfiguration), registered with gateway.xml.codec
(importing this module registers it); the rules are gateway.s3.cors'.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_CORSRule.html: per rule an optional
ID, AllowedHeader*, AllowedMethod+, AllowedOrigin+, ExposeHeader*, optional MaxAgeSeconds.
"""

from __future__ import annotations

from gateway.s3.cors import CORSConfiguration, CORSRule
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


@renders(CORSConfiguration)
def _render_cors(model: CORSConfiguration) -> Element:
    root = _root("CORSConfiguration")
    for rule in model.rules:
        el = _add(root, "CORSRule")
        if rule.id is not None:
            _add(el, "ID", rule.id)
        for name, values in (
            ("AllowedHeader", rule.allowed_headers),
            ("AllowedMethod", rule.allowed_methods),
            ("AllowedOrigin", rule.allowed_origins),
            ("ExposeHeader", rule.expose_headers),
        ):
            for value in values:
                _add(el, name, value)
        if rule.max_age_seconds is not None:
            _add(el, "MaxAgeSeconds", str(rule.max_age_seconds))
    return root


def _values(el: Element, name: str) -> tuple[str, ...]:
    return tuple((child.text or "").strip() for child in _children(el, name))


def _parse_rule(el: Element) -> CORSRule:
    methods, origins = _values(el, "AllowedMethod"), _values(el, "AllowedOrigin")
    if not methods or not origins:
        raise _malformed()
    return CORSRule(
        allowed_methods=methods,
        allowed_origins=origins,
        allowed_headers=_values(el, "AllowedHeader"),
        expose_headers=_values(el, "ExposeHeader"),
        max_age_seconds=parse_integer(_text(el, "MaxAgeSeconds")),
        id=_text(el, "ID"),
    )


@parses(CORSConfiguration, "CORSConfiguration")
def _parse_cors(root: Element) -> CORSConfiguration:
    return CORSConfiguration(tuple(_parse_rule(el) for el in _children(root, "CORSRule")))
