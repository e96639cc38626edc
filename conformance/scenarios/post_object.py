"""POST Object: browser form uploads with a signed policy document (SigV4 POST policy)."""

from __future__ import annotations

import uuid

from conformance.context import Context, expect, expect_eq
from conformance.registry import scenario


def _form(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    out += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    out += content + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


@scenario("post-object", "http", quick=True)
def presigned_post_form(ctx: Context) -> None:
    key = ctx.key("form-upload.txt")
    post = ctx.boto3().generate_presigned_post(
        ctx.bucket,
        key,
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}, ["content-length-range", 1, 1000]],
        ExpiresIn=300,
    )
    body, ctype = _form(post["fields"], "upload.txt", b"from a browser form")
    status, _, answer = ctx.http("POST", post["url"], body, {"Content-Type": ctype})
    expect_eq(status, 201, f"POST form upload: {answer[:300]!r}")
    got = ctx.admin.get_object(Bucket=ctx.bucket, Key=key)["Body"].read()
    expect_eq(got, b"from a browser form", "uploaded content")
    too_big, ctype = _form(post["fields"], "upload.txt", b"x" * 2000)
    status, _, answer = ctx.http("POST", post["url"], too_big, {"Content-Type": ctype})
    expect(status in (400, 403), f"content-length-range not enforced: {status}")
