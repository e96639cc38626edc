"""XML of POST Object's answer to success_action_status 201 (PostResponse), registered with
gateway.xml.codec (importing this module registers it).

https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html#RESTObjectPOST-responses-examples:
Location, Bucket, Key and the quoted ETag, in a root element without a namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.xml.codec import Element, _add, _root, renders


@dataclass(frozen=True)
class PostResponse:
    location: str
    bucket: str
    key: str
    etag: str  # quoted


@renders(PostResponse)
def _render_post_response(model: PostResponse) -> Element:
    root = _root("PostResponse", ns=None)
    _add(root, "Location", model.location)
    _add(root, "Bucket", model.bucket)
    _add(root, "Key", model.key)
    _add(root, "ETag", model.etag)
    return root
