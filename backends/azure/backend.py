"""The `azure` backend: blobs as block blobs in one Azure Blob Storage container.

How a blob is stored: block blob `prefix + blob_id` in the configured container.

Write path (put_blob): when the caller gives the blob's size (the usual case), a blob of
at most SINGLE_PUT_SIZE (256 KiB) goes up as one buffered Put Blob (the SDK retries it),
and a larger one up to `single_put_max` (Put Blob's limit, 5000 MiB, by default) as one
Put Blob whose body is fed from the stream as it arrives (signed.py: a signed URL, or a
bearer token with a token credential, sent without the SDK, which would buffer it). Past
that, it is staged in blocks of `block_size` whose lengths are known in advance, each Put
Block body fed from the stream the same way (backends.streamed): nothing is buffered but
the chunks in transit. Such a body cannot be replayed, so streamed requests are sent
without retries: a failed one fails the put (503) and the client retries the request.

MD5s (Digesting, backends/base.py): the service answers a Put Blob with the MD5 it computed
over the bytes it stored (Content-MD5). When the backend gets ready it stores a probe of
random bytes that way and compares the answer with their MD5 (then deletes it); if they
agree, put_blob_digested returns the service's MD5 of every blob that goes up as one Put
Blob, and the gateway (gateway/writepath.py) does not hash those bytes itself. Staged
blocks have no MD5 of the whole blob: the gateway hashes those.
Without a size, the stream is cut into blocks of `block_size` (PartReader). A blob
that fits in one block goes up as one Put Blob. A larger one is staged block by block
(Put Block, https://learn.microsoft.com/rest/api/storageservices/put-block),
`blocks_in_flight` blocks (default 1) uploading while the next is read, so at most
blocks_in_flight + 1 blocks are in memory (16 MiB with the defaults); it becomes visible
only when Put Block List commits the list. Block ids are base64 of the zero-padded block
number: every id of a blob has the same length, as the service requires. A failed upload
leaves only uncommitted blocks, which List Blobs does not report and the service discards
after a week; a blob id written again starts from scratch.

Read path (get_blob): one Get Blob of the range with a signed URL (or a bearer token), its
body yielded in the pieces the socket delivers (signed.py: nothing held but aiohttp's read
buffer). Over plain HTTP, relay_blob sends the same request on a socket of
backends/relay.py's pool for the gateway to splice to its client (never with a token
credential: bearer tokens go over https only). Any answer but 200/206 reads through the
SDK's downloader instead: `read_chunk_size` ranges one after the other, yielded as they
come. A missing blob raises BlobNotFound from the
first request, before the first chunk is yielded.

Credentials: a connection string, an account key, a SAS, or a token credential (Entra ID:
the one given, or for an account URL alone azure.identity's DefaultAzureCredential, which
finds a managed identity, AKS workload identity, a service principal in the environment or
az login). A token credential's token is fetched once and shared by the SDK's calls and
signed.py's requests until 5 minutes before it expires (tokens.py).

Lifecycle: the SDK client, with its own aiohttp session (`max_connections`), is created on
first use, on the running event loop, together with a check that the container exists and
its creation if not (create_container=False skips both, for a SAS without container
rights). A failed check is retried on the next call. `start()`
does this eagerly; `close()` releases the connections and closes a DefaultAzureCredential
the backend created (a later call opens new ones).

Retries: the SDK retries connection errors, timeouts, 408/429/5xx up to `max_attempts`
attempts with exponential backoff from `retry_backoff` seconds; `connect_timeout` and
`read_timeout` bound each attempt. Whatever still fails is translated by errors.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
import random
import ssl
from collections.abc import AsyncIterator, Coroutine
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.storage.blob import BlobBlock, BlobType
from azure.storage.blob.aio import (
    BlobClient,
    BlobServiceClient,
    ContainerClient,
    ExponentialRetry,
)

from backends.azure import signed
from backends.azure.errors import azure_errors, error_code
from backends.azure.tokens import BearerTokens, is_token_credential
from backends.base import (
    BackendError,
    BackendUnavailable,
    BlobInfo,
    BlobNotFound,
    BlobRelay,
    ByteStream,
    store_tells_md5,
)
from backends.parts import PartReader
from backends.relay import RelayClient
from backends.streamed import PartBody, PartSource, body_errors, part_lengths

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# https://learn.microsoft.com/rest/api/storageservices/understanding-block-blobs--append-blobs--and-page-blobs
MAX_BLOCK_SIZE = 4000 * MiB
MAX_BLOCKS = 50_000
DEFAULT_BLOCK_SIZE = 8 * MiB
# Known-size blobs up to this size are buffered for one Put Blob the SDK can retry; larger
# ones stream as one Put Blob (signed.py) up to single_put_max, as staged blocks past it.
SINGLE_PUT_SIZE = 256 * 1024
STREAMED_PUT_MAX = 5000 * MiB  # Put Blob's limit (API version 2019-12-12 and later)
READ_CHUNK = 4 * MiB

Credential = str | AzureNamedKeyCredential | AzureSasCredential | AsyncTokenCredential


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def block_id(number: int) -> str:
    """Equal-length ids for every block of a blob (the service requires equal lengths)."""
    return base64.b64encode(f"{number:08d}".encode()).decode()


def account_name_of(account_url: str) -> str:
    """`acct` of https://acct.blob.core.windows.net, or of http://127.0.0.1:10000/acct."""
    url = urlsplit(account_url)
    host = url.hostname or ""
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = host == "localhost"
    if is_ip:  # emulator style: the account is the first path segment
        return url.path.strip("/").split("/")[0]
    return host.split(".")[0]


class _Backoff(ExponentialRetry):
    """Exponential backoff with full jitter in float seconds (the SDK's ExponentialRetry
    counts whole seconds and waits 15 s before the first retry)."""

    def __init__(self, max_attempts: int, base: float, cap: float = 20.0) -> None:
        retries = max(max_attempts - 1, 0)
        super().__init__(
            retry_total=retries,
            retry_connect=retries,
            retry_read=retries,
            retry_status=retries,
            initial_backoff=0,
            random_jitter_range=0,
        )
        self._base = base
        self._cap = cap

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return random.uniform(0, min(self._cap, self._base * 2 ** int(settings["count"])))


def may_have_reached_server(exc: BaseException) -> bool:
    """Whether a request that failed with `exc` may still have taken effect on the server."""
    if isinstance(exc, asyncio.CancelledError):
        return True
    if isinstance(exc, BackendUnavailable):  # not if the request was never sent
        return not isinstance(exc.__cause__, ServiceRequestError | aiohttp.ClientConnectorError)
    return False


class AzureBackend:
    """Blobs as block blobs `prefix + blob_id` in `container`.

    Give `connection_string`, or `account_url` with `account_key` (shared key; the account
    name comes from the URL unless given) or with `credential` (a SAS string or
    AzureSasCredential, a token credential such as azure.identity's DefaultAzureCredential,
    which stays its giver's to close), or with a SAS in its query, or alone: Entra ID, with
    an azure.identity DefaultAzureCredential the backend creates on start and closes on
    close. A token credential needs an https account URL. `ssl_context`: what verifies the
    store's certificate (default: the system's trust store, as aiohttp makes it).
    """

    name = "azure"

    def __init__(
        self,
        container: str,
        connection_string: str | None = None,
        account_url: str | None = None,
        account_key: str | None = None,
        *,
        account_name: str | None = None,
        credential: Credential | None = None,
        prefix: str = "",
        create_container: bool = True,
        block_size: int = DEFAULT_BLOCK_SIZE,
        blocks_in_flight: int = 1,
        read_chunk_size: int = READ_CHUNK,
        max_connections: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        retry_backoff: float = 0.5,
        single_put_max: int = STREAMED_PUT_MAX,
        server_md5: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if (connection_string is None) == (account_url is None):
            raise ValueError("give exactly one of connection_string and account_url")
        if account_key is not None and credential is not None:
            raise ValueError("give account_key or credential, not both")
        # An account URL alone (no key, no credential, no SAS in it) means Entra ID.
        self._entra_id = (
            account_url is not None
            and account_key is None
            and credential is None
            and not urlsplit(account_url).query
        )
        if account_url is not None and urlsplit(account_url).scheme != "https":
            if self._entra_id or is_token_credential(credential):
                raise ValueError("a token credential (Entra ID) needs an https account URL")
        if not 1 <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be within [1, {MAX_BLOCK_SIZE}]")
        if blocks_in_flight < 1:
            raise ValueError("blocks_in_flight must be at least 1")
        if not 0 <= single_put_max <= STREAMED_PUT_MAX:
            raise ValueError(f"single_put_max must be within [0, {STREAMED_PUT_MAX}]")
        if account_url is not None and account_key is not None:
            credential = AzureNamedKeyCredential(
                account_name or account_name_of(account_url), account_key
            )
        self._container_name = container
        self._connection_string = connection_string
        self._account_url = account_url
        self._credential = credential
        self._prefix = prefix
        self._create_container = create_container
        self._block_size = block_size
        self._blocks_in_flight = blocks_in_flight
        self._read_chunk_size = read_chunk_size
        self._single_put_max = single_put_max
        self._server_md5 = server_md5
        self._md5_from_store = False  # until the probe says otherwise
        self._max_connections = max_connections
        self._ssl_context = ssl_context
        self._timeouts = (connect_timeout, read_timeout)
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._container: ContainerClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._urls: signed.BlobUrls | None = None  # how requests are signed (None: SDK only)
        self._relay: RelayClient | None = None  # Get Blob bodies to splice (plain HTTP only)
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._container_checked = False
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:  # no credentials, ever
        where = self._account_url or "connection string"
        return f"AzureBackend({self._container_name!r}, {where!r}, prefix={self._prefix!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the connections and check (or create) the container now, not on first use."""
        await self._ready()

    def _service_client(
        self, session: aiohttp.ClientSession, credential: Credential | None
    ) -> BlobServiceClient:
        connect_timeout, read_timeout = self._timeouts
        options: dict[str, Any] = {
            "transport": AioHttpTransport(
                session=session,
                session_owner=False,
                connection_timeout=connect_timeout,
                read_timeout=read_timeout,
            ),
            "retry_policy": _Backoff(self._max_attempts, self._retry_backoff),
            # One request per block, one per read chunk: memory stays bounded.
            "max_single_put_size": self._block_size,
            "max_block_size": self._block_size,
            "max_single_get_size": self._read_chunk_size,
            "max_chunk_get_size": self._read_chunk_size,
        }
        if self._connection_string is not None:
            return BlobServiceClient.from_connection_string(self._connection_string, **options)
        assert self._account_url is not None
        return BlobServiceClient(self._account_url, credential=credential, **options)

    async def _opened_credential(self, stack: contextlib.AsyncExitStack) -> Credential | None:
        """The credential the SDK's client and signed.py use: a token credential (the one
        given, or DefaultAzureCredential for Entra ID, closed with `stack`) behind one
        token cache (tokens.py); any other as given."""
        credential = self._credential
        if self._entra_id:
            from azure.identity.aio import DefaultAzureCredential

            credential = await stack.enter_async_context(DefaultAzureCredential())
        if is_token_credential(credential):
            return BearerTokens(cast(AsyncTokenCredential, credential))
        return credential

    async def _ready(self) -> ContainerClient:
        if self._container is not None and self._container_checked:
            return self._container
        async with self._lock:
            if self._container is None:
                stack = contextlib.AsyncExitStack()
                connector = aiohttp.TCPConnector(
                    limit=self._max_connections,
                    ssl=True if self._ssl_context is None else self._ssl_context,
                )
                session = await stack.enter_async_context(
                    aiohttp.ClientSession(connector=connector)
                )
                try:
                    credential = await self._opened_credential(stack)
                    service = await stack.enter_async_context(
                        self._service_client(session, credential)
                    )
                except BaseException:
                    await stack.aclose()
                    raise
                container = service.get_container_client(self._container_name)
                self._urls = signed.BlobUrls.of(
                    container.url,
                    self._container_name,
                    service.credential,
                    api_version=container.api_version,
                )
                if self._urls is not None and self._urls.plain_http:
                    connect_timeout, read_timeout = self._timeouts
                    self._relay = RelayClient(
                        connect_timeout=connect_timeout,
                        read_timeout=read_timeout,
                        max_idle=self._max_connections,
                    )
                self._container, self._session = container, session
                self._exit_stack = stack
            if not self._container_checked:
                await self._ensure_container(self._container)
                if self._server_md5 and self._urls is not None:
                    self._md5_from_store = await self._probe_md5(self._container)
                self._container_checked = True
        return self._container

    async def _ensure_container(self, container: ContainerClient) -> None:
        if not self._create_container:  # e.g. a SAS without container rights; trust it
            return
        with azure_errors("Get Container Properties"):
            try:
                await container.get_container_properties()
                return
            except ResourceNotFoundError:
                pass
        with azure_errors("Create Container"):
            try:
                await container.create_container()
            except ResourceExistsError:  # created concurrently
                pass

    async def _probe_md5(self, container: ContainerClient) -> bool:
        """Whether a Put Blob's answer carries the MD5 of the bytes stored (see the module
        docstring)."""

        async def put(blob_id: str, body: bytes) -> bytes | None:
            return await self._put_signed(
                container, blob_id, PartSource(_one(body), len(body), blob_id)
            )

        return await store_tells_md5(
            "azure backend", put, lambda blob_id: self._delete_quietly(container, blob_id)
        )

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        stack, self._exit_stack = self._exit_stack, None
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.close()
        self._container = self._session = self._urls = None
        self._container_checked = self._md5_from_store = False
        if stack is not None:
            await stack.aclose()

    async def health(self) -> None:
        try:
            container = await self._ready()
            with azure_errors("Get Container Properties"):
                await container.get_container_properties()
        except BackendUnavailable:
            raise
        except BackendError as exc:  # reachable but unusable (credentials, container)
            raise BackendUnavailable(str(exc)) from exc

    def local_path(self, blob_id: str) -> str | None:
        return None

    def _name(self, blob_id: str) -> str:
        return self._prefix + blob_id

    # -- write ---------------------------------------------------------------------------------

    async def put_blob(self, blob_id: str, data: ByteStream, size: int | None = None) -> int:
        container = await self._ready()
        if size is not None:
            await self._put_known(container, blob_id, PartSource(data, size, blob_id))
            return size
        reader = PartReader(data)
        first = await reader.read(self._block_size)
        second = await reader.read(self._block_size) if len(first) == self._block_size else b""
        if not second:
            await self._put_blob_once(container, blob_id, first)
            return len(first)
        return await self._put_blocks(container, blob_id, reader, first, second)

    def digests(self, size: int | None) -> bool:
        return self._md5_from_store and size is not None and self._in_one_put(size)

    async def put_blob_digested(
        self, blob_id: str, data: ByteStream, size: int | None = None
    ) -> tuple[int, bytes | None]:
        container = await self._ready()
        if size is None or not self.digests(size):
            return await self.put_blob(blob_id, data, size), None
        return size, await self._put_known(container, blob_id, PartSource(data, size, blob_id))

    def _in_one_put(self, size: int) -> bool:
        """Whether a blob of `size` bytes (known in advance) goes up as one Put Blob."""
        return size <= SINGLE_PUT_SIZE or (self._urls is not None and size <= self._single_put_max)

    async def _put_known(
        self, container: ContainerClient, blob_id: str, source: PartSource
    ) -> bytes | None:
        """Store a blob of known size; the MD5 the service answered with, if it was one
        Put Blob and the answer said."""
        if source.size <= SINGLE_PUT_SIZE:
            whole = source.part(source.size, last=True)
            return await self._put_blob_once(container, blob_id, b"".join([c async for c in whole]))
        if self._in_one_put(source.size):
            return await self._put_signed(container, blob_id, source)
        lengths = part_lengths(source.size, self._block_size, MAX_BLOCKS)
        blob = container.get_blob_client(self._name(blob_id))
        committing = False
        try:
            for number, length in enumerate(lengths):
                body = source.part(length, last=number == len(lengths) - 1)
                await self._stage_block(blob, blob_id, number, body)
            committing = True
            with azure_errors("Put Block List", blob_id):
                await blob.commit_block_list([BlobBlock(block_id(n)) for n in range(len(lengths))])
        except BaseException as exc:
            if committing:
                await self._delete_if_stored(container, blob_id, exc)
            raise
        return None

    async def _put_blob_once(
        self, container: ContainerClient, blob_id: str, body: bytes
    ) -> bytes | None:
        blob = container.get_blob_client(self._name(blob_id))
        try:
            with azure_errors("Put Blob", blob_id):
                # overwrite=True: a retried Put Blob must not fail on its own first attempt.
                answer = await blob.upload_blob(
                    body, blob_type=BlobType.BLOCKBLOB, length=len(body), overwrite=True
                )
        except BaseException as exc:
            await self._delete_if_stored(container, blob_id, exc)
            raise
        md5 = answer.get("content_md5")
        return bytes(md5) if isinstance(md5, bytes | bytearray) and len(md5) == 16 else None

    async def _put_signed(
        self, container: ContainerClient, blob_id: str, source: PartSource
    ) -> bytes | None:
        """One Put Blob streamed from `source`, sent without the SDK (signed.py)."""
        assert self._urls is not None and self._session is not None
        try:
            with azure_errors("Put Blob", blob_id):
                url, auth = await self._urls.request(self._name(blob_id), "cw")
            return await signed.put_blob(
                self._session,
                url,
                source.part(source.size, last=True),
                self._timeout,
                blob_id,
                auth,
            )
        except BaseException as exc:
            await self._delete_if_stored(container, blob_id, exc)
            raise

    async def _put_blocks(
        self,
        container: ContainerClient,
        blob_id: str,
        reader: PartReader,
        first: bytes,
        second: bytes,
    ) -> int:
        blob = container.get_blob_client(self._name(blob_id))
        blocks: list[BlobBlock] = []
        in_flight: list[asyncio.Task[None]] = []
        committing = False
        try:
            block, number, upcoming = first, 0, second
            while block:
                if number >= MAX_BLOCKS:
                    raise BackendError(f"azure put {blob_id}: more than {MAX_BLOCKS} blocks")
                if len(in_flight) >= self._blocks_in_flight:
                    await in_flight.pop(0)
                in_flight.append(
                    asyncio.create_task(self._stage_block(blob, blob_id, number, block))
                )
                blocks.append(BlobBlock(block_id=block_id(number)))
                number += 1
                # Read the next block while the others upload.
                block = upcoming if upcoming else await reader.read(self._block_size)
                upcoming = b""
            for task in in_flight:
                await task
            in_flight.clear()
            committing = True
            with azure_errors("Put Block List", blob_id):
                await blob.commit_block_list(blocks)
        except BaseException as exc:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            if committing:
                await self._delete_if_stored(container, blob_id, exc)
            raise
        return reader.total

    async def _stage_block(
        self, blob: BlobClient, blob_id: str, number: int, body: bytes | PartBody
    ) -> None:
        if isinstance(body, PartBody):  # sendable once: no SDK retries
            with body_errors(body), azure_errors("Put Block", blob_id):
                await blob.stage_block(block_id(number), body, length=body.length, retry_total=0)  # type: ignore[arg-type]
            return
        with azure_errors("Put Block", blob_id):
            await blob.stage_block(block_id(number), body, length=len(body))

    async def _delete_quietly(self, container: ContainerClient, blob_id: str) -> None:
        try:
            await self._delete(container, blob_id)
        except BackendError as exc:
            log.warning("%s; the blob collector will remove it later", exc)

    async def _delete_if_stored(
        self, container: ContainerClient, blob_id: str, exc: BaseException
    ) -> None:
        """After a write failed with `exc`: delete the blob if the write may have reached
        the service all the same (it may be stored although we saw an error)."""
        if may_have_reached_server(exc):
            await self._shielded(self._delete_quietly(container, blob_id))

    async def _shielded(self, cleanup: Coroutine[Any, Any, None]) -> None:
        """Run a cleanup to its end even if the task running put_blob is being cancelled."""
        task = asyncio.create_task(cleanup)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await asyncio.shield(task)

    # -- read ----------------------------------------------------------------------------------

    async def get_blob(
        self, blob_id: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"negative range [{start}, {end})")
        if end is not None and end <= start:
            await self.blob_size(blob_id)  # nothing to read, but the blob must exist
            return
        container = await self._ready()
        if self._urls is not None and self._session is not None:
            with azure_errors("Get Blob", blob_id):
                url, auth = await self._urls.request(self._name(blob_id))
            response = await signed.open_blob(self._session, url, start, end, self._timeout, auth)
            if response is not None:
                async for chunk in signed.body(response, blob_id):
                    yield chunk
                return
        blob = container.get_blob_client(self._name(blob_id))
        with azure_errors("Get Blob", blob_id):
            try:
                downloader = await blob.download_blob(
                    offset=start, length=None if end is None else end - start
                )
            except HttpResponseError as exc:
                # 416: the range starts at or past the end of an existing blob.
                if exc.status_code != 416 or error_code(exc) == "BlobNotFound":
                    raise
                return
        chunks = downloader.chunks()
        while True:
            with azure_errors("Get Blob", blob_id):
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
            if chunk:
                yield chunk

    async def relay_blob(self, blob_id: str, start: int, end: int) -> BlobRelay | None:
        """Bytes [start, end) on a socket of the relay's pool (backends/relay.py), or None."""
        if end <= start:
            return None
        await self._ready()
        if self._relay is None or self._urls is None:
            return None
        return await self._relay.open(self._urls.url(self._name(blob_id)), start, end)

    async def blob_size(self, blob_id: str) -> int:
        container = await self._ready()
        with azure_errors("Get Blob Properties", blob_id):
            properties = await container.get_blob_client(self._name(blob_id)).get_blob_properties()
        return int(properties.size)

    async def delete_blob(self, blob_id: str) -> None:
        await self._delete(await self._ready(), blob_id)

    async def _delete(self, container: ContainerClient, blob_id: str) -> None:
        try:
            with azure_errors("Delete Blob", blob_id):
                await container.delete_blob(self._name(blob_id), delete_snapshots="include")
        except BlobNotFound:
            pass

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        container = await self._ready()
        # Committed blobs only (the default): staged, uncommitted blocks are not blobs.
        pages = container.list_blobs(name_starts_with=self._prefix or None)
        while True:
            with azure_errors("List Blobs"):
                try:
                    properties = await anext(pages)
                except StopAsyncIteration:
                    return
            yield BlobInfo(
                properties.name[len(self._prefix) :],
                int(properties.size),
                properties.last_modified.timestamp(),
            )
