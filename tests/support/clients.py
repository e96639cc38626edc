"""Real S3 clients for the integration tests: the plumbing lives in conformance/clients.py.

The conformance runner drives the same clients against any endpoint and must not depend on
tests/, so the helpers moved there; this module keeps the names the tests import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.clients import (
    DEFAULT_TIMEOUT,
    RCLONE_REMOTE,
    ClientError,
    S3Endpoint,
    aws_command,
    aws_config_text,
    aws_env,
    base_env,
    boto3_client,
    client_home,
    empty_and_delete_bucket,
    empty_file,
    format_output,
    rclone_command,
    rclone_conf,
    read_tree,
    run_aws,
    run_client,
    run_rclone,
    run_s3cmd,
    s3cmd_command,
    s3cmd_conf,
    s3fs_fs,
    unique_bucket_name,
    write_tree,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "RCLONE_REMOTE",
    "ClientError",
    "S3Endpoint",
    "aws_command",
    "aws_config_text",
    "aws_env",
    "base_env",
    "boto3_client",
    "client_home",
    "empty_and_delete_bucket",
    "empty_file",
    "format_output",
    "rclone_command",
    "rclone_conf",
    "read_tree",
    "run_aws",
    "run_client",
    "run_rclone",
    "run_s3cmd",
    "s3cmd_command",
    "s3cmd_conf",
    "s3fs_fs",
    "unique_bucket_name",
    "upload_in_parts",
    "write_tree",
]


def upload_in_parts(client: Any, bucket: str, key: str, data: bytes, sizes: Sequence[int]) -> None:
    """Store `data` at `key` as a multipart upload whose parts are `sizes` long, in order
    (they add up to len(data))."""
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts, at = [], 0
    for number, size in enumerate(sizes, 1):
        etag = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=data[at : at + size]
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        at += size
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )
