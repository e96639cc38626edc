-- 0012: quotas (issue #14, part 5; gateway/meta/quotas.py). A limit on the bytes and/or the
-- object versions (NULL: no limit on that one) a bucket, or all the buckets an account
-- owns, may store, counted as bucket_usage counts (0006). Writes check them inside the
-- transaction that moves the usage, holding the quota row FOR UPDATE, so writers on
-- several replicas take turns at the limit instead of all squeezing past it.
-- Deleting the bucket or the account deletes its quota.

CREATE TABLE bucket_quotas (
    bucket TEXT /*pg COLLATE "C" */ PRIMARY KEY REFERENCES buckets (name) ON DELETE CASCADE,
    max_bytes BIGINT,
    max_objects BIGINT
);

CREATE TABLE account_quotas (
    account TEXT /*pg COLLATE "C" */ PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
    max_bytes BIGINT,
    max_objects BIGINT
);
