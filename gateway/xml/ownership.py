"""XML of Put/GetBucketOwnershipControls (OwnershipControls), registered with
gateway.xml.codec (importing this module registers it).

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html:
`<OwnershipControls><Rule><ObjectOwnership>…</ObjectOwnership></Rule></OwnershipControls>`.
S3 takes exactly one rule; anything else, or an unknown ObjectOwnership, is MalformedXML.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.policy.ownership import ObjectOwnership
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

MAX_CONFIGURATION_BYTES = 16 * 1024


@dataclass(frozen=True)
class OwnershipControls:
    object_ownership: ObjectOwnership


@renders(OwnershipControls)
def _render_ownership_controls(model: OwnershipControls) -> Element:
    root = _root("OwnershipControls")
    _add(_add(root, "Rule"), "ObjectOwnership", model.object_ownership.value)
    return root


@parses(OwnershipControls, "OwnershipControls")
def _parse_ownership_controls(root: Element) -> OwnershipControls:
    rules = _children(root, "Rule")
    if len(rules) != 1:
        raise _malformed()
    value = _text(rules[0], "ObjectOwnership", required=True)
    try:
        return OwnershipControls(ObjectOwnership((value or "").strip()))
    except ValueError as exc:
        raise _malformed() from exc
