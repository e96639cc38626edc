-- 0002: multipart uploads in progress, their parts, and recently completed uploads.
--
-- PostgreSQL variant of 0002_multipart.sql: uploads.key and completed_uploads.key
-- sort by their bytes (COLLATE "C"), as versions.key does in 0001_initial.postgres.sql;
-- uploads.upload_id too (ListMultipartUploads pages by it).
-- Keep the two files in step.

-- One row per upload in progress. upload_id is generated time-ordered, so (bucket, key,
-- upload_id) order is ListMultipartUploads order: by key, then by initiation.
CREATE TABLE uploads (
    upload_id TEXT COLLATE "C" PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets (name),
    key TEXT COLLATE "C" NOT NULL,
    initiated DOUBLE PRECISION NOT NULL,
    owner TEXT NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    user_meta TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_type TEXT
);

CREATE UNIQUE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

-- The current part of each number. A part's blob left pending_blobs when the part was
-- recorded; it is referenced for as long as the row exists.
CREATE TABLE upload_parts (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id),
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    checksums TEXT NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

-- "Is this blob used?" (collector, scrubber) is one probe here and one in version_blobs.
CREATE INDEX upload_parts_by_blob ON upload_parts (blob_id);

-- Completed uploads, remembered for a while so a retried CompleteMultipartUpload gets
-- the same answer (gateway.meta.base.COMPLETED_UPLOAD_MEMORY).
CREATE TABLE completed_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    version_id TEXT NOT NULL,
    etag TEXT NOT NULL,
    parts_digest TEXT NOT NULL,
    completed DOUBLE PRECISION NOT NULL
);

CREATE INDEX completed_uploads_by_time ON completed_uploads (completed);

CREATE INDEX completed_uploads_by_bucket ON completed_uploads (bucket);
