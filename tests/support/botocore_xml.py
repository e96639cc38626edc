"""botocore reads what we render: the compatibility proof shared by the XML codec tests.

Parses a response body the way boto3 does for `operation`, through botocore's own S3
model and REST-XML parser.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.model import ServiceModel
from botocore.parsers import RestXMLParser


@cache
def s3_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("s3")


def botocore_parse(
    operation: str, body: bytes, status: int = 200, *, metadata: bool = False
) -> dict[str, Any]:
    """What boto3 returns for `operation` given this body (ResponseMetadata only if asked)."""
    shape = s3_model().operation_model(operation).output_shape
    assert shape is not None, f"{operation} has no output shape"
    response = {"body": body, "headers": {}, "status_code": status}
    parsed: dict[str, Any] = RestXMLParser().parse(response, shape)
    if not metadata:
        parsed.pop("ResponseMetadata", None)
    return parsed
