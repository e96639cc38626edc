-- 0003, PostgreSQL: 0003_retention.sql with COLLATE "C" on names, as in 0001. Keep the
-- two files in step.

CREATE TABLE bucket_configs (
    bucket TEXT COLLATE "C" NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
);

CREATE TABLE upload_retention (
    upload_id TEXT COLLATE "C" PRIMARY KEY REFERENCES uploads (upload_id) ON DELETE CASCADE,
    tags TEXT NOT NULL,
    retention_mode TEXT,
    retain_until DOUBLE PRECISION,
    legal_hold BOOLEAN NOT NULL DEFAULT FALSE
);
