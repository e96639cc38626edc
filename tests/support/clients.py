"""Real S3 clients for the integration tests: the plumbing lives in conformance/clients.py.

The conformance runner drives the same clients against any endpoint and must not depend on
tests/, so the helpers moved there; this module keeps the names the tests import.
"""

from __future__ import annotations

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
    "write_tree",
]
