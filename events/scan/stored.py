"""Scanning a version already stored: its segments read back from the backend.

CompleteMultipartUpload (inline: before the commit) and the async worker read the
plaintext back through the read path, as GetObject would. An SSE-C object cannot be read
back (the gateway never keeps the customer's key), nor one whose KMS key is disabled, so
it cannot be scanned: a permanent ScanFailed, which --scan-fail decides about.
"""

from __future__ import annotations

from backends.base import BackendError
from events.scan.clamd import ClamdClient
from events.scan.protocol import ScanFailed, Verdict
from gateway.codec.keys import SSE_C
from gateway.context import Services
from gateway.encryption import read_keys, version_mode
from gateway.errors import S3Error
from gateway.meta.base import ObjectVersion
from gateway.readpath import stream_range


async def scan_version(services: Services, scanner: ClamdClient, version: ObjectVersion) -> Verdict:
    if version_mode(version) == SSE_C:
        return ScanFailed("SSE-C: the gateway holds no key to read it back", permanent=True)
    try:
        kek = (await read_keys(services, version, {})).kek
    except S3Error as exc:  # e.g. its KMS key is disabled
        return ScanFailed(f"cannot open it: {exc.code.code}", permanent=True)
    stream = stream_range(services.backend, version, 0, version.size, kek)
    try:
        return await scanner.scan(stream)
    except BackendError as exc:
        return ScanFailed(f"reading the object back failed: {exc}")
