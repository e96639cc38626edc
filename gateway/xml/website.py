"""XML of Put/GetBucketWebsite (WebsiteConfiguration), registered with gateway.xml.codec
(importing this module registers it); the rules are gateway.s3.website's.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html:
ErrorDocument/Key, IndexDocument/Suffix, RedirectAllRequestsTo (HostName, Protocol),
RoutingRules/RoutingRule+ (Condition: HttpErrorCodeReturnedEquals, KeyPrefixEquals;
Redirect: HostName, HttpRedirectCode, Protocol, ReplaceKeyPrefixWith, ReplaceKeyWith),
each element at most once, in that order when rendered.
"""

from __future__ import annotations

from gateway.s3.website import (
    Condition,
    Redirect,
    RedirectAllRequestsTo,
    RoutingRule,
    WebsiteConfiguration,
)
from gateway.xml.codec import (
    Element,
    _add,
    _children,
    _malformed,
    _root,
    _text,
    parses,
    renders,
)


def _optional(parent: Element, name: str, value: str | None) -> None:
    if value is not None:
        _add(parent, name, value)


@renders(WebsiteConfiguration)
def _render_website(model: WebsiteConfiguration) -> Element:
    root = _root("WebsiteConfiguration")
    if model.redirect_all is not None:
        el = _add(root, "RedirectAllRequestsTo")
        _add(el, "HostName", model.redirect_all.host_name)
        _optional(el, "Protocol", model.redirect_all.protocol)
    if model.index_suffix is not None:
        _add(_add(root, "IndexDocument"), "Suffix", model.index_suffix)
    if model.error_key is not None:
        _add(_add(root, "ErrorDocument"), "Key", model.error_key)
    if model.routing_rules:
        rules = _add(root, "RoutingRules")
        for rule in model.routing_rules:
            el = _add(rules, "RoutingRule")
            if rule.condition is not None:
                cond = _add(el, "Condition")
                _optional(
                    cond,
                    "HttpErrorCodeReturnedEquals",
                    rule.condition.http_error_code_returned_equals,
                )
                _optional(cond, "KeyPrefixEquals", rule.condition.key_prefix_equals)
            redirect = _add(el, "Redirect")
            r = rule.redirect
            _optional(redirect, "HostName", r.host_name)
            _optional(redirect, "HttpRedirectCode", r.http_redirect_code)
            _optional(redirect, "Protocol", r.protocol)
            _optional(redirect, "ReplaceKeyPrefixWith", r.replace_key_prefix_with)
            _optional(redirect, "ReplaceKeyWith", r.replace_key_with)
    return root


def _one(parent: Element, name: str) -> Element | None:
    found = _children(parent, name)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def _stripped(parent: Element, name: str) -> str | None:
    text = _text(parent, name)
    return None if text is None else text.strip()


def _parse_rule(el: Element) -> RoutingRule:
    redirect_el = _one(el, "Redirect")
    if redirect_el is None:
        raise _malformed()
    cond_el = _one(el, "Condition")
    condition = None
    if cond_el is not None:
        condition = Condition(
            key_prefix_equals=_text(cond_el, "KeyPrefixEquals"),
            http_error_code_returned_equals=_stripped(cond_el, "HttpErrorCodeReturnedEquals"),
        )
    redirect = Redirect(
        host_name=_stripped(redirect_el, "HostName"),
        http_redirect_code=_stripped(redirect_el, "HttpRedirectCode"),
        protocol=_stripped(redirect_el, "Protocol"),
        replace_key_prefix_with=_text(redirect_el, "ReplaceKeyPrefixWith"),
        replace_key_with=_text(redirect_el, "ReplaceKeyWith"),
    )
    return RoutingRule(redirect, condition)


@parses(WebsiteConfiguration, "WebsiteConfiguration")
def _parse_website(root: Element) -> WebsiteConfiguration:
    redirect_all = None
    if (el := _one(root, "RedirectAllRequestsTo")) is not None:
        redirect_all = RedirectAllRequestsTo(
            _stripped(el, "HostName") or "", _stripped(el, "Protocol")
        )
    index = _one(root, "IndexDocument")
    error = _one(root, "ErrorDocument")
    rules_el = _one(root, "RoutingRules")
    rules: tuple[RoutingRule, ...] = ()
    if rules_el is not None:
        rules = tuple(_parse_rule(el) for el in _children(rules_el, "RoutingRule"))
        if not rules:
            raise _malformed()
    return WebsiteConfiguration(
        # A suffix or key is a name: kept as sent (validation refuses an empty one).
        index_suffix=None if index is None else (_text(index, "Suffix", required=True)),
        error_key=None if error is None else _text(error, "Key", required=True),
        redirect_all=redirect_all,
        routing_rules=rules,
    )
