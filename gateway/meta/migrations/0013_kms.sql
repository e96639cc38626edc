-- 0013: the built-in KMS of SSE-KMS (issue #13; gateway/codec/kms.py).
--
-- One row per KMS key of an account. `versions` is a JSON array of the key's versions'
-- material, each sealed by the master key (base64 nonce || AES-GCM); a rotation appends
-- one, and older versions stay so data keys sealed under them still open until
-- `kloudvault admin kms rotate` re-seals them. `alias` ("alias/NAME") is unique per
-- account; alias/aws/s3 is the default key, created on its account's first use.

CREATE TABLE kms_keys (
    key_id TEXT /*pg COLLATE "C" */ PRIMARY KEY,
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    alias TEXT /*pg COLLATE "C" */,
    description TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    versions TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);

CREATE UNIQUE INDEX kms_keys_by_alias ON kms_keys (account, alias);
