"""An Azure Blob Storage account (Azurite) as a bench target, spoken to directly.

The workloads (bench/workloads.py) ask a session for presigned URLs of S3 operations; this
session answers with the Azure equivalents: a blob URL with a service SAS (read for
get_object, create and write for put_object, delete for delete_object), so the load
generator sends the same plain requests to Azurite as to an S3 server, signed in advance.
A Put Blob also needs `x-ms-blob-type: BlockBlob`, which the session puts on the
request (`headers`).

Only what `large` and `small` ask of a session is here (no listing workloads).
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from azure.storage.blob import BlobServiceClient, generate_blob_sas

from bench.loadgen import Request, run_phase
from bench.targets import Target
from bench.workloads import Session

_PERMISSIONS = {"get_object": "r", "head_object": "r", "put_object": "cw", "delete_object": "d"}
PUT_HEADERS = (("x-ms-blob-type", "BlockBlob"),)


class AzureSession(Session):
    """A container of its own in the account at `target.url` (the account URL);
    `target.access_key` is the account name, `target.secret_key` the account key."""

    def __init__(  # no S3 client: not Session's
        self, target: Target, loop: asyncio.AbstractEventLoop, run_id: str
    ) -> None:
        self.target = target
        self.loop = loop
        self.service = BlobServiceClient(
            target.url,
            credential={"account_name": target.access_key, "account_key": target.secret_key},
        )
        self.bucket = f"kvbench-{run_id}"
        self.container = self.service.create_container(self.bucket)
        self.listing_ready = 0
        self.put_headers = PUT_HEADERS

    def presign(self, method: str, key: str, **params: Any) -> str:
        sas = generate_blob_sas(
            self.target.access_key,
            self.bucket,
            key,
            account_key=self.target.secret_key,
            permission=_PERMISSIONS[method],
            expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=6),
        )
        return f"{self.container.get_blob_client(key).url}?{sas}"

    def delete_all(self, prefix: str, payload: memoryview) -> None:
        names = [b.name for b in self.container.list_blobs(name_starts_with=prefix or None)]
        requests = [Request("DELETE", self.presign("delete_object", n)) for n in names]
        run_phase(self.target.name, "cleanup", requests, 64, payload, None, self.loop)

    def close(self) -> None:
        try:
            self.container.delete_container()
        except Exception as exc:
            print(f"bench: clean-up of {self.target.name}: {exc!r}")
        self.service.close()
