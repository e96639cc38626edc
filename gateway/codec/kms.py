"""The KMS behind SSE-KMS: an interface (Kms), and the built-in implementation whose keys
live in the MetaStore (the kms_keys table).

How the built-in KMS works:
  - A key belongs to an account and has versions: 32 random bytes each, stored sealed by
    the master key (AES-256-GCM under HKDF(master key, key id), the key id and version as
    associated data). A rotation adds a version; older ones stay, so what they sealed still
    opens until `kloudvault admin kms rotate` has re-sealed it.
  - A segment's data key is sealed (gateway.codec.keys.new_data_key) under a key-encryption
    key derived from one key version and bound to the bucket, the object key and the
    encryption context: the same data key in another object's row, or with another
    context, does not open. The segment's codec names the key and the version (KmsRef).
  - A disabled key refuses both: no new data key is sealed and none is opened.
  - Each account gets an `alias/aws/s3` key on its first SSE-KMS write without a key id,
    as AWS creates its AWS-managed key.
The master keys are the current one, then the previous one while a master key rotation
is under way (`kloudvault admin kms rotate-master`): versions open under either.
Key rows are cached for `ttl` seconds per process (disable() forgets at once here; other
processes see it within the ttl); unsealed versions are cached for good, as they never change.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from auth.credentials import account_id
from gateway.codec.frames import KEY_SIZE
from gateway.meta.base import KmsKey, MetaStore

DEFAULT_ALIAS: Final = "alias/aws/s3"
_NONCE_SIZE: Final = 12
_ARN = re.compile(
    r"arn:aws:kms:(?P<region>[^:]*):(?P<account>\d{12}):(?P<kind>key|alias)/(?P<rest>.+)"
)
_ALIAS = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
_KEY_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class KmsError(Exception):
    """A KMS refusal; `key` is what the request named (an id, ARN or alias)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class KeyNotFound(KmsError):
    pass


class KeyDisabled(KmsError):
    pass


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(secret)


def kms_kek(material: bytes, key_id: str, bucket: str, key: str, context: str | None) -> bytes:
    """The key-encryption key of an object's data keys under one KMS key version."""
    parts = [b"kloudvault-sse-kms", key_id.encode(), bucket.encode(), key.encode()]
    parts.append((context or "").encode())
    return _hkdf(material, b"\0".join(parts))


def seal_material(master_key: bytes, key_id: str, version: int, material: bytes) -> str:
    nonce = secrets.token_bytes(_NONCE_SIZE)
    aad = f"{key_id}\0{version}".encode()
    wrapped = AESGCM(_hkdf(master_key, b"kloudvault-kms-key\0" + key_id.encode()))
    return base64.b64encode(nonce + wrapped.encrypt(nonce, material, aad)).decode("ascii")


def open_material(master_key: bytes, key_id: str, version: int, sealed: str) -> bytes:
    """Raises ValueError when the master key is not the one that sealed it."""
    try:
        blob = base64.b64decode(sealed, validate=True)
        aad = f"{key_id}\0{version}".encode()
        wrapped = AESGCM(_hkdf(master_key, b"kloudvault-kms-key\0" + key_id.encode()))
        return wrapped.decrypt(blob[:_NONCE_SIZE], blob[_NONCE_SIZE:], aad)
    except (InvalidTag, binascii.Error) as exc:
        raise ValueError(f"KMS key {key_id} v{version} does not open: wrong master key") from exc


def open_any(master_keys: tuple[bytes, ...], key_id: str, version: int, sealed: str) -> bytes:
    """open_material under the first of `master_keys` that opens it."""
    for master_key in master_keys[:-1]:
        try:
            return open_material(master_key, key_id, version, sealed)
        except ValueError:
            continue
    return open_material(master_keys[-1], key_id, version, sealed)


class Kms(Protocol):
    """What SSE-KMS asks of a KMS (gateway/encryption.py)."""

    async def resolve(self, account: str, ref: str | None) -> KmsKey:
        """The enabled key a write names by id, ARN or alias, in `account`; None: the
        account's default key (created on first use). KeyNotFound / KeyDisabled."""
        ...

    async def material(self, key_id: str, version: int) -> tuple[KmsKey, bytes]:
        """A version of an enabled key, unsealed. KeyNotFound / KeyDisabled."""
        ...

    def arn(self, key: KmsKey) -> str: ...


class BuiltinKms:
    """Kms over the MetaStore, sealed by the master key (module docstring)."""

    def __init__(
        self,
        meta: MetaStore,
        master_keys: Callable[[], tuple[bytes, ...]],
        region: str,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.meta = meta
        self._master_keys = master_keys
        self.region = region
        self.ttl = ttl
        self._clock = clock
        self._rows: dict[str, tuple[float, KmsKey]] = {}
        self._materials: dict[tuple[str, int], bytes] = {}

    def arn(self, key: KmsKey) -> str:
        return f"arn:aws:kms:{self.region}:{account_id(key.account)}:key/{key.key_id}"

    def master_keys(self) -> tuple[bytes, ...]:
        return self._master_keys()

    def forget(self, key_id: str) -> None:
        self._rows.pop(key_id, None)

    async def _get(self, key_id: str) -> KmsKey | None:
        now = self._clock()
        cached = self._rows.get(key_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        found = await self.meta.get_kms_key(key_id)
        if found is None:
            self._rows.pop(key_id, None)
        else:
            self._rows[key_id] = (now, found)
        return found

    def _enabled(self, key: KmsKey, named: str) -> KmsKey:
        if not key.enabled:
            raise KeyDisabled(f"{self.arn(key)} is disabled.", named)
        return key

    async def resolve(self, account: str, ref: str | None) -> KmsKey:
        if not ref:
            found = await self.meta.find_kms_alias(account, DEFAULT_ALIAS)
            if found is None:
                try:
                    found = await self.create_key(account, DEFAULT_ALIAS, "Default key for S3")
                except KeyError:  # another request created it first
                    found = await self.meta.find_kms_alias(account, DEFAULT_ALIAS)
            if found is None:
                raise KeyNotFound(f"Alias {DEFAULT_ALIAS} is not found.", DEFAULT_ALIAS)
            return self._enabled(found, DEFAULT_ALIAS)
        alias: str | None = None
        key_id: str | None = None
        arn = _ARN.fullmatch(ref)
        if arn is not None:
            if arn["account"] != account_id(account) or arn["region"] != self.region:
                raise KeyNotFound(f"Invalid keyId '{ref}'", ref)
            if arn["kind"] == "alias":
                alias = "alias/" + arn["rest"]
            else:
                key_id = arn["rest"]
        elif _ALIAS.fullmatch(ref):
            alias = ref
        elif _KEY_ID.fullmatch(ref):
            key_id = ref
        else:
            raise KeyNotFound(f"Invalid keyId '{ref}'", ref)
        if alias is not None:
            found = await self.meta.find_kms_alias(account, alias)
        else:
            assert key_id is not None
            found = await self._get(key_id)
        if found is None or found.account != account:
            raise KeyNotFound(f"Invalid keyId '{ref}'", ref)
        return self._enabled(found, ref)

    async def material(self, key_id: str, version: int) -> tuple[KmsKey, bytes]:
        found = await self._get(key_id)
        if found is None or not 0 <= version < len(found.versions):
            raise KeyNotFound(f"Invalid keyId '{key_id}'", key_id)
        self._enabled(found, key_id)
        material = self._materials.get((key_id, version))
        if material is None:
            material = open_any(self._master_keys(), key_id, version, found.versions[version])
            self._materials[(key_id, version)] = material
        return found, material

    # -- administration (gateway/kms_admin.py) ---------------------------------------------

    async def create_key(
        self, account: str, alias: str | None = None, description: str | None = None
    ) -> KmsKey:
        """A new enabled key; KeyError if the alias is taken in the account."""
        if alias is not None and not _ALIAS.fullmatch(alias):
            raise ValueError(f"an alias is alias/NAME (letters, digits, / _ -): {alias!r}")
        if await self.meta.get_user(account) is None:
            raise KeyNotFound(f"no account {account}", account)
        key_id = str(uuid.uuid4())
        material = secrets.token_bytes(KEY_SIZE)
        key = KmsKey(
            key_id=key_id,
            account=account,
            alias=alias,
            description=description,
            enabled=True,
            versions=(seal_material(self._master_keys()[0], key_id, 0, material),),
            created=time.time(),
        )
        await self.meta.create_kms_key(key)
        return key

    async def set_enabled(self, key_id: str, enabled: bool) -> bool:
        self.forget(key_id)
        return await self.meta.set_kms_key_enabled(key_id, enabled)

    async def add_version(self, key_id: str) -> KmsKey | None:
        """A new current version of the key (what it seals from now on)."""
        found = await self.meta.get_kms_key(key_id)
        if found is None:
            return None
        version = len(found.versions)
        material = secrets.token_bytes(KEY_SIZE)
        sealed = seal_material(self._master_keys()[0], key_id, version, material)
        self.forget(key_id)
        return await self.meta.add_kms_key_version(key_id, version, sealed)
