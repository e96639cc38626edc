"""What a browser on another origin can do with the gateway: (a) an HTML form POST
(boto3's generate_presigned_post), (b) fetch() PUT to a presigned URL, refused until the
bucket has a CORS rule for the page's origin, (c) a tus-js-client upload that survives
a page reload mid-upload and resumes where it stopped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tus import creation_url


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = f"browser-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=item["Key"])
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)


BUILD_FORM = """({url, fields}) => {
  const form = document.createElement("form");
  form.id = "upload"; form.action = url; form.method = "POST";
  form.enctype = "multipart/form-data";
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }
  const file = document.createElement("input");
  file.type = "file"; file.name = "file"; file.id = "file";
  form.appendChild(file);
  document.body.appendChild(form);
}"""


def test_form_post_upload(page: Any, s3: Any, bucket: str) -> None:
    post = s3.generate_presigned_post(
        bucket,
        "forms/${filename}",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}, ["starts-with", "$key", "forms/"]],
    )
    page.evaluate(BUILD_FORM, {"url": post["url"], "fields": post["fields"]})
    page.set_input_files(
        "#file", files=[{"name": "hello.txt", "mimeType": "text/plain", "buffer": b"hi form"}]
    )
    with page.expect_navigation() as navigation:
        page.evaluate("document.getElementById('upload').submit()")
    assert navigation.value.status == 201
    assert "PostResponse" in page.content()  # success_action_status 201's document
    got = s3.get_object(Bucket=bucket, Key="forms/hello.txt")
    assert got["Body"].read() == b"hi form"


FETCH_PUT = """async (url) => {
  try {
    const answer = await fetch(url, {method: "PUT", body: "hi fetch"});
    return String(answer.status);
  } catch (error) {
    return "rejected: " + error.name;
  }
}"""


def test_fetch_put_to_presigned_url_needs_a_cors_rule(
    page: Any, s3: Any, bucket: str, page_origin: str
) -> None:
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "fetched"})
    assert page.evaluate(FETCH_PUT, url) == "rejected: TypeError"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    rule = {"AllowedOrigins": [page_origin], "AllowedMethods": ["PUT"], "AllowedHeaders": ["*"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    answer = page.evaluate(FETCH_PUT, url)
    deadline = time.monotonic() + 5  # another process may cache the bucket's rules briefly
    while answer != "200" and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = page.evaluate(FETCH_PUT, url)
    assert answer == "200"
    assert s3.get_object(Bucket=bucket, Key="fetched")["Body"].read() == b"hi fetch"


CHUNK = 256 * 1024
SIZE = 3 * CHUNK + 1000

# The file is made the same on both page loads (contents, name, type, lastModified), so
# its tus fingerprint (and the upload URL stored under it in localStorage) is the same.
TUS_UPLOAD = """({url, size, chunk, stopAfterFirst}) => new Promise((resolve, reject) => {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + 3) % 251;
  const file = new File([data], "big.bin", {type: "application/octet-stream", lastModified: 0});
  const requests = [];
  const upload = new tus.Upload(file, {
    endpoint: url,
    chunkSize: chunk,
    retryDelays: null,
    metadata: {filename: file.name, filetype: file.type},
    onBeforeRequest: (req) => {
      requests.push(req.getMethod() + " " + (req.getHeader("Upload-Offset") || ""));
    },
    onChunkComplete: () => {
      if (stopAfterFirst) upload.abort().then(() => resolve({state: "stopped", requests}));
    },
    onSuccess: () => resolve({state: "done", requests, url: upload.url}),
    onError: (error) => reject(error),
  });
  upload.findPreviousUploads().then((previous) => {
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    upload.start();
  });
})"""


def test_tus_upload_resumes_after_a_reload(
    tus_client: None, page: Any, s3: Any, bucket: str, gateway: GatewayProcess
) -> None:
    keys = (gateway.access_key, gateway.secret_key)
    url = creation_url(gateway.endpoint, keys, bucket, "tus/big.bin", region=gateway.region)
    args = {"url": url, "size": SIZE, "chunk": CHUNK, "stopAfterFirst": True}
    first = page.evaluate(TUS_UPLOAD, args)
    assert first["state"] == "stopped"
    assert first["requests"][:2] == ["POST ", "PATCH 0"]
    page.reload()
    second = page.evaluate(TUS_UPLOAD, {**args, "stopAfterFirst": False})
    assert second["state"] == "done"
    # Resumed: no new upload, the offset asked of the server, the rest sent from there.
    assert second["requests"][0] == "HEAD "
    assert "POST " not in second["requests"]
    resumed_at = int(second["requests"][1].split()[1])
    assert resumed_at >= CHUNK
    expected = bytes((i * 7 + 3) % 251 for i in range(SIZE))
    got = s3.get_object(Bucket=bucket, Key="tus/big.bin")
    assert got["ContentType"] == "application/octet-stream"
    assert got["Body"].read() == expected
