"""gateway.xml.codec's integer elements against digits that are not ASCII.

Found by fuzzing (bench/fuzz, the xml-* targets): str.isdigit() is true of "²" or "٣",
which int() refuses, so such a PartNumber or MaxAgeSeconds escaped as a 500.
"""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.cors import CORSConfiguration
from gateway.xml import cors as _cors_codec  # noqa: F401 - registers the CORS parser
from gateway.xml.codec import parse
from gateway.xml.models import CompleteMultipartUpload


@pytest.mark.parametrize("digits", ["1²", "٣", "1\u0663"])
def test_non_ascii_digits_are_malformed_xml(digits: str) -> None:
    body = (
        f"<CompleteMultipartUpload><Part><PartNumber>{digits}</PartNumber><ETag>e</ETag></Part>"
        "</CompleteMultipartUpload>"
    ).encode()
    with pytest.raises(S3Error) as err:
        parse(CompleteMultipartUpload, body)
    assert err.value.code is S3ErrorCode.MALFORMED_XML
    cors = (
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        f"<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>{digits}</MaxAgeSeconds>"
        "</CORSRule></CORSConfiguration>"
    ).encode()
    with pytest.raises(S3Error) as err:
        parse(CORSConfiguration, cors)
    assert err.value.code is S3ErrorCode.MALFORMED_XML
