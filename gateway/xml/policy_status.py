"""XML of GetBucketPolicyStatus (PolicyStatus), registered with gateway.xml.codec
(importing this module registers it).

https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.xml.codec import Element, _add, _bool, _root, renders


@dataclass(frozen=True)
class PolicyStatus:
    is_public: bool


@renders(PolicyStatus)
def _render_policy_status(model: PolicyStatus) -> Element:
    root = _root("PolicyStatus")
    _add(root, "IsPublic", _bool(model.is_public))
    return root
