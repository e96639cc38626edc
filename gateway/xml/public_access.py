"""XML of Put/GetPublicAccessBlock (PublicAccessBlockConfiguration), registered with
gateway.xml.codec (importing this module registers it). The model is the one the policy
engine applies, auth.policy.public.PublicAccessBlock.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html:
the four members are optional booleans; an absent one is false.
"""

from __future__ import annotations

from auth.policy.public import PublicAccessBlock
from gateway.xml.codec import Element, _add, _bool, _parse_bool, _root, _text, parses, renders

MAX_CONFIGURATION_BYTES = 16 * 1024

# (element, PublicAccessBlock field), in the order S3 lists them.
_FIELDS = (
    ("BlockPublicAcls", "block_public_acls"),
    ("IgnorePublicAcls", "ignore_public_acls"),
    ("BlockPublicPolicy", "block_public_policy"),
    ("RestrictPublicBuckets", "restrict_public_buckets"),
)


@renders(PublicAccessBlock)
def _render_public_access_block(model: PublicAccessBlock) -> Element:
    root = _root("PublicAccessBlockConfiguration")
    for element, field in _FIELDS:
        _add(root, element, _bool(getattr(model, field)))
    return root


@parses(PublicAccessBlock, "PublicAccessBlockConfiguration")
def _parse_public_access_block(root: Element) -> PublicAccessBlock:
    values: dict[str, bool] = {}
    for element, field in _FIELDS:
        text = _text(root, element)
        values[field] = text is not None and _parse_bool(text)
    return PublicAccessBlock(**values)
