-- 0003: bucket configuration documents (lifecycle, tagging, object lock) and what a
-- CreateMultipartUpload said about the object's tags and lock, for its completion.
--
-- Names sort by their bytes on PostgreSQL too (COLLATE "C", see 0001).
-- Versioning, tags, retention and legal holds of versions need no schema change: 0001
-- has their columns.

-- One row per configuration a bucket has, by sub-resource name ("lifecycle", "tagging",
-- "object-lock"): the XML document as the gateway renders it. Gone with the bucket.
CREATE TABLE bucket_configs (
    bucket TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    name TEXT /*pg COLLATE "C" */ NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
);

-- x-amz-tagging and x-amz-object-lock-* of a CreateMultipartUpload; the version made by
-- CompleteMultipartUpload gets them. Gone with the upload (completed or aborted).
CREATE TABLE upload_retention (
    upload_id TEXT /*pg COLLATE "C" */ PRIMARY KEY REFERENCES uploads (upload_id) ON DELETE CASCADE,
    tags TEXT NOT NULL,
    retention_mode TEXT,
    retain_until DOUBLE PRECISION,
    legal_hold BOOLEAN NOT NULL DEFAULT FALSE
);
