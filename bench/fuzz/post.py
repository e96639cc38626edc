"""POST Object: the multipart/form-data decoder and the POST policy document.

postform:    a control line with the Content-Type value, then the body; fed 13 bytes at a
             time after a first piece of (body length mod 97) bytes, so that delimiters
             straddle feeds
postpolicy:  the form's fields as "name: value" lines, an empty line, then the policy's
             JSON (base64-encoded here unless a `policy` field was given); the fields go
             through form_signature, verify_signature, parse_post_policy, check_length and
             check_policy as gateway/ops/post_object.py calls them
"""

from __future__ import annotations

import base64

from auth import postpolicy
from auth.postform import FormReader, boundary_of
from bench.fuzz import wire
from bench.fuzz.harness import Target
from gateway.errors import S3Error


def run_form(data: bytes) -> None:
    content_type, _, body = data.partition(b"\n")
    reader = FormReader(boundary_of(wire.text(content_type)))
    first = len(body) % 97
    reader.feed(body[:first])
    for at in range(first, len(body), 13):
        reader.feed(body[at : at + 13])
    reader.finish()


def run_policy(data: bytes) -> None:
    head, _, document = data.partition(b"\n\n")
    # FormReader decodes field values as strict UTF-8: no surrogates reach these checks.
    fields = wire.headers_of(head.decode("utf-8", "replace").split("\n"))
    fields.setdefault("policy", base64.b64encode(document).decode("ascii"))
    signed = postpolicy.form_signature(fields)
    if signed is not None:
        try:
            postpolicy.verify_signature(signed, fields["policy"], "secret")
        except S3Error:
            pass  # the policy is parsed below whatever the signature, to reach it
    policy = postpolicy.parse_post_policy(fields["policy"])
    try:
        postpolicy.check_length(policy, len(document), complete=False)
        postpolicy.check_length(policy, 0, complete=True)
    except S3Error:
        pass
    postpolicy.check_policy(policy, fields, bucket="bucket", now=0.0)


FORM_TOKENS = (
    b"\r\n--XyZ",
    b"\r\n--XyZ--",
    b"\r\n\r\n",
    b"Content-Disposition: form-data; ",
    b'name="file"; filename="',
    b"Content-Type: ",
    b"; boundary=",
    b'\\"',
)
POLICY_TOKENS = tuple(
    t.encode()
    for t in (
        '"expiration": ',
        '"conditions": ',
        '["starts-with", "$key", ""]',
        '["eq", "$acl", "x"]',
        '["content-length-range", 0, 1]',
        '{"bucket": "bucket"}',
        "x-amz-algorithm: AWS4-HMAC-SHA256\n",
        "x-amz-credential: AKID/20130524/us-east-1/s3/aws4_request\n",
        "x-amz-date: 20130524T000000Z\n",
        "x-amz-signature: ",
        "awsaccesskeyid: ",
        "policy: ",
        "9999-12-31T23:59:59+23:59",
        "0001-01-01T00:00:00-23:59",
    )
)


def targets() -> list[Target]:
    return [
        Target("postform", run_form, (S3Error,), FORM_TOKENS),
        Target("postpolicy", run_policy, (S3Error,), POLICY_TOKENS),
    ]
