-- 0011: tus resumable uploads (issue #12, part 4; gateway/tus/).
--
-- A tus upload is a multipart upload (uploads, 0002) plus what tus adds: the declared
-- length, the offset reached, and where the bytes stand in parts. The upload's URL
-- carries a bearer token; only its SHA-256 (token_hash) is stored. part_number and
-- part_size are the upload's last part: a PATCH appends to it while it is under S3's
-- 5 MiB minimum, so every part but the last is big enough to complete
-- (gateway/tus/append.py). Completing or aborting the multipart upload by any path
-- (a finished PATCH, DELETE, AbortMultipartUpload, a lifecycle
-- AbortIncompleteMultipartUpload rule, DeleteBucket) deletes the row with it.
-- access_key is the key (or STS session) that signed the creation: each later request
-- is authorized as it, as of then (CredentialCache.holder).

CREATE TABLE tus_uploads (
    token_hash TEXT PRIMARY KEY,
    upload_id TEXT /*pg COLLATE "C" */ NOT NULL UNIQUE
        REFERENCES uploads (upload_id) ON DELETE CASCADE,
    bucket TEXT /*pg COLLATE "C" */ NOT NULL,
    key TEXT /*pg COLLATE "C" */ NOT NULL,
    upload_length BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    part_number INTEGER NOT NULL DEFAULT 0,
    part_size BIGINT NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL,
    account TEXT /*pg COLLATE "C" */ NOT NULL,
    iam_user TEXT /*pg COLLATE "C" */,
    access_key TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL
);

-- The collector aborts uploads past their expiry, oldest first.
CREATE INDEX tus_uploads_by_expiry ON tus_uploads (expires);
