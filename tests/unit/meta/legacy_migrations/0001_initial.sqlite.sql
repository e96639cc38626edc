-- 0001: users, access keys, buckets, object versions and the blob lists.
--
-- Portable between SQLite and PostgreSQL: DOUBLE PRECISION, BIGINT, BOOLEAN and TEXT, and
-- partial indexes, mean the same on both. Timestamps are float seconds since the epoch.
-- JSON columns are TEXT holding compact JSON (the stores encode and decode them).
--
-- Keys must order by their UTF-8 bytes (S3 listing order). SQLite's default BINARY
-- collation compares TEXT with memcmp over UTF-8, which is exactly that. PostgreSQL needs
-- `key TEXT COLLATE "C"` on versions.key (and buckets.name, users.name for stable list
-- order): supply it in 0001_initial.postgres.sql, which replaces this file there (see
-- gateway/meta/migrations.py). The schema_migrations table is created by the runner.

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    is_root BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE access_keys (
    access_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created DOUBLE PRECISION NOT NULL,
    is_root BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX access_keys_by_user ON access_keys (user_name);

CREATE TABLE buckets (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    region TEXT NOT NULL,
    -- NULL (never enabled), 'Enabled' or 'Suspended'
    versioning TEXT,
    object_lock BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX buckets_by_owner ON buckets (owner, name);

-- One row per object version, delete markers included. An unversioned bucket holds one
-- row per key, with version_id 'null'. seq orders the versions of one key (newest =
-- highest); exactly one version of a key has is_latest.
CREATE TABLE versions (
    bucket TEXT NOT NULL REFERENCES buckets (name),
    key TEXT NOT NULL,
    version_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    is_latest BOOLEAN NOT NULL,
    is_delete_marker BOOLEAN NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    owner TEXT NOT NULL,
    content_type TEXT,
    headers TEXT NOT NULL,
    user_meta TEXT NOT NULL,
    checksums TEXT NOT NULL,
    checksum_type TEXT,
    -- [{"blob_id", "size", "part_number", "etag", "checksums"}, ...] in object order
    segments TEXT NOT NULL,
    tags TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    retention_mode TEXT,
    retain_until DOUBLE PRECISION,
    legal_hold BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (bucket, key, version_id)
);

-- Listing (key range scans over latest versions) and the one-latest-per-key invariant.
CREATE UNIQUE INDEX versions_latest ON versions (bucket, key) WHERE is_latest;

-- "The next newest version" when the latest is removed; versions in order for ListVersions.
CREATE UNIQUE INDEX versions_by_seq ON versions (bucket, key, seq);

-- Which versions use which blob: the segments JSON made indexable, so that "is this blob
-- referenced?" is one index probe instead of a scan of every version's segments.
-- Maintained by the store together with the versions rows.
CREATE TABLE version_blobs (
    blob_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (blob_id, bucket, key, version_id)
);

-- Blobs being written (DESIGN.md, "Write path", step 1); stale ones are crashed uploads.
CREATE TABLE pending_blobs (
    blob_id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL
);

CREATE INDEX pending_blobs_by_created ON pending_blobs (created);

-- Blobs no version uses any more, waiting out the grace period for in-flight readers.
CREATE TABLE garbage_blobs (
    blob_id TEXT PRIMARY KEY,
    since DOUBLE PRECISION NOT NULL
);

CREATE INDEX garbage_blobs_by_since ON garbage_blobs (since);
