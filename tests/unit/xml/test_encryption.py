"""gateway.xml.encryption: ServerSideEncryptionConfiguration parsed and rendered."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error
from gateway.xml.codec import parse, render
from gateway.xml.encryption import ServerSideEncryptionConfiguration

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'

CASES = [
    ServerSideEncryptionConfiguration("AES256"),
    ServerSideEncryptionConfiguration("aws:kms", "key-1", bucket_key_enabled=True),
]


@pytest.mark.parametrize("model", CASES)
def test_round_trip(model: ServerSideEncryptionConfiguration) -> None:
    assert parse(ServerSideEncryptionConfiguration, render(model)) == model
    assert ServerSideEncryptionConfiguration.from_json(model.to_json()) == model


def test_parse_aws_example() -> None:
    xml = (
        f"<ServerSideEncryptionConfiguration {NS}><Rule><ApplyServerSideEncryptionByDefault>"
        "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
        "</Rule></ServerSideEncryptionConfiguration>"
    ).encode()
    assert parse(ServerSideEncryptionConfiguration, xml) == ServerSideEncryptionConfiguration(
        "AES256"
    )


@pytest.mark.parametrize(
    "inner",
    [
        "",
        "<Rule></Rule>",
        "<Rule><ApplyServerSideEncryptionByDefault></ApplyServerSideEncryptionByDefault></Rule>",
        "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
        "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>maybe</BucketKeyEnabled></Rule>",
    ],
)
def test_malformed(inner: str) -> None:
    xml = f"<ServerSideEncryptionConfiguration {NS}>{inner}</ServerSideEncryptionConfiguration>"
    with pytest.raises(S3Error) as err:
        parse(ServerSideEncryptionConfiguration, xml.encode())
    assert err.value.code.code == "MalformedXML"
