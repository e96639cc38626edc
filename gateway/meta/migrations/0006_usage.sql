-- 0006: per-bucket usage (issue #14), kept incrementally: every transaction that inserts or
-- deletes a version row adds its delta here, in the same transaction (gateway/meta/usage.py),
-- so the counts are exact across replicas and crashes and nothing ever scans to count.
--
-- objects: object versions stored (delete markers excluded); bytes: their sizes. A bucket's
-- usage is the sum over its rows: writers of different keys add to different `shard` rows
-- (a hash of the key), so that they do not queue on one hot row per bucket.

CREATE TABLE bucket_usage (
    bucket TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    shard INTEGER NOT NULL,
    objects BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, shard)
);

-- What exists already, once, into shard 0 (only the sums are meaningful).
INSERT INTO bucket_usage (bucket, shard, objects, bytes)
    SELECT bucket, 0, COUNT(*), COALESCE(SUM(size), 0)
    FROM versions WHERE NOT is_delete_marker GROUP BY bucket;
