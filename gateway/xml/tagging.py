"""XML of object and bucket tagging (Tagging), registered with gateway.xml.codec
(importing this module registers it); the tag rules are gateway.s3.tagging's."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.s3.tagging import Tag
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

# -- Object and bucket tagging: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html


@dataclass(frozen=True)
class Tagging:
    tags: tuple[Tag, ...]


def render_tag(parent: Element, tag: Tag) -> None:
    el = _add(parent, "Tag")
    _add(el, "Key", tag.key)
    _add(el, "Value", tag.value)


def parse_tag(el: Element) -> Tag:
    key = _text(el, "Key", required=True)
    value = _text(el, "Value", required=True)
    assert key is not None and value is not None
    return Tag(key, value)


@renders(Tagging)
def _render_tagging(model: Tagging) -> Element:
    root = _root("Tagging")
    tag_set = _add(root, "TagSet")
    for tag in model.tags:
        render_tag(tag_set, tag)
    return root


@parses(Tagging, "Tagging")
def _parse_tagging(root: Element) -> Tagging:
    sets = _children(root, "TagSet")
    if len(sets) != 1:
        raise _malformed()
    return Tagging(tuple(parse_tag(el) for el in _children(sets[0], "Tag")))
