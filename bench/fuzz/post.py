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


def targets() -> list[Target]:
    return [
        Target("postform", run_form, (S3Error,)),
        Target("postpolicy", run_policy, (S3Error,)),
    ]
