-- 0004: the replicas that use the shared Redis cache (gateway/meta/redis_cache.py, "roster").
--
-- Every replica run with --redis-url rewrites its row each second, whether or not it can
-- reach Redis. A replica with a fresh row but no live lease in Redis may write without
-- invalidating the cache, so the others stop trusting the cache until it has one again.
-- The database is the one place every writer reaches: a replica that cannot update its
-- row cannot commit a write either.
CREATE TABLE cache_replicas (
    id TEXT PRIMARY KEY,
    seen DOUBLE PRECISION NOT NULL
);
