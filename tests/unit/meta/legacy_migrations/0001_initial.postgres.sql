-- 0001, PostgreSQL: 0001_initial.sql with keys in byte order. Keep the two files in step.
--
-- Keys must order by their UTF-8 bytes (S3 listing order): text columns that are sorted or
-- range-scanned are COLLATE "C" (memcmp), which for UTF-8 is code point order, the order
-- Python compares str in (gateway/meta/listing.py). Names too, for a stable list order.
-- Timestamps are float seconds since the epoch; JSON columns are TEXT holding compact JSON,
-- exactly as on SQLite, so one row codec (gateway/meta/rows.py) serves both stores.

CREATE TABLE users (
    name TEXT COLLATE "C" PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    is_root BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE access_keys (
    access_key TEXT COLLATE "C" PRIMARY KEY,
    secret_key TEXT NOT NULL,
    user_name TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created DOUBLE PRECISION NOT NULL,
    is_root BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX access_keys_by_user ON access_keys (user_name);

CREATE TABLE buckets (
    name TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT COLLATE "C" NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    region TEXT NOT NULL,
    -- NULL (never enabled), 'Enabled' or 'Suspended'
    versioning TEXT,
    object_lock BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX buckets_by_owner ON buckets (owner, name);

-- One row per object version, delete markers included (see 0001_initial.sql).
CREATE TABLE versions (
    bucket TEXT COLLATE "C" NOT NULL REFERENCES buckets (name),
    key TEXT COLLATE "C" NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
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
    segments TEXT NOT NULL,
    tags TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    retention_mode TEXT,
    retain_until DOUBLE PRECISION,
    legal_hold BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (bucket, key, version_id)
);

-- Listing and the one-latest-per-key invariant. INCLUDE (is_delete_marker): the seek walk
-- of a delimiter listing reads keys only, so it can be an index-only scan.
CREATE UNIQUE INDEX versions_latest ON versions (bucket, key)
    INCLUDE (is_delete_marker) WHERE is_latest;

CREATE UNIQUE INDEX versions_by_seq ON versions (bucket, key, seq);

CREATE TABLE version_blobs (
    blob_id TEXT NOT NULL,
    bucket TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (blob_id, bucket, key, version_id)
);

CREATE TABLE pending_blobs (
    blob_id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL
);

CREATE INDEX pending_blobs_by_created ON pending_blobs (created);

CREATE TABLE garbage_blobs (
    blob_id TEXT PRIMARY KEY,
    since DOUBLE PRECISION NOT NULL
);

CREATE INDEX garbage_blobs_by_since ON garbage_blobs (since);
