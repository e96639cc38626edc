"""The `s3` backend: blobs as objects on any S3 server (backend.py; errors.py maps errors)."""

from backends.s3.backend import S3Backend

__all__ = ["S3Backend"]
