"""XML of Put/GetBucketEncryption (ServerSideEncryptionConfiguration), registered with
gateway.xml.codec (importing this module registers it).

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html:
`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>
<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>
<BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`.
The bucket stores it as JSON (the "encryption" bucket config).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gateway.xml.codec import (
    Element,
    _add,
    _bool,
    _children,
    _malformed,
    _parse_bool,
    _root,
    _text,
    parses,
    renders,
)

MAX_CONFIGURATION_BYTES = 16 * 1024


@dataclass(frozen=True)
class ServerSideEncryptionConfiguration:
    sse_algorithm: str  # "AES256", "aws:kms" or "aws:kms:dsse" as sent
    kms_master_key_id: str | None = None
    bucket_key_enabled: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "SSEAlgorithm": self.sse_algorithm,
                "KMSMasterKeyID": self.kms_master_key_id,
                "BucketKeyEnabled": self.bucket_key_enabled,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ServerSideEncryptionConfiguration:
        d = json.loads(text)
        return cls(d["SSEAlgorithm"], d.get("KMSMasterKeyID"), bool(d.get("BucketKeyEnabled")))


@renders(ServerSideEncryptionConfiguration)
def _render(model: ServerSideEncryptionConfiguration) -> Element:
    root = _root("ServerSideEncryptionConfiguration")
    rule = _add(root, "Rule")
    default = _add(rule, "ApplyServerSideEncryptionByDefault")
    _add(default, "SSEAlgorithm", model.sse_algorithm)
    if model.kms_master_key_id is not None:
        _add(default, "KMSMasterKeyID", model.kms_master_key_id)
    _add(rule, "BucketKeyEnabled", _bool(model.bucket_key_enabled))
    return root


@parses(ServerSideEncryptionConfiguration, "ServerSideEncryptionConfiguration")
def _parse(root: Element) -> ServerSideEncryptionConfiguration:
    rules = _children(root, "Rule")
    if len(rules) != 1:
        raise _malformed()
    defaults = _children(rules[0], "ApplyServerSideEncryptionByDefault")
    if len(defaults) != 1:
        raise _malformed()
    algorithm = _text(defaults[0], "SSEAlgorithm", required=True) or ""
    enabled = _text(rules[0], "BucketKeyEnabled")
    return ServerSideEncryptionConfiguration(
        algorithm.strip(),
        _text(defaults[0], "KMSMasterKeyID"),
        _parse_bool(enabled) if enabled is not None else False,
    )
