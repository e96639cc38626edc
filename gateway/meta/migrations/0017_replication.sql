-- 0017: bucket replication (issue #21; gateway/s3/replication.py, gateway/meta/replication.py,
-- gateway/jobs/replication.py).
--
-- The event outbox (0010) carries replication work too: a row of kind 'replication' is a
-- change a bucket's replication rule covers, inserted in the transaction of the change
-- (gateway/meta/events.py add_events), so an acknowledged write always has its copy queued.
-- For such a row: target = the destination bucket (the rule's arn:aws:s3:::BUCKET; the
-- worker looks up which operator target serves it when it copies), config_id = the rule's
-- ID, event_name = the work ('put', 'delete-marker', 'metadata'). The event dispatcher reads kind 'event' only, the replication worker kind
-- 'replication' only; both keep per-key order through the same (state, target, bucket,
-- key, id) index, which kind now leads.

ALTER TABLE event_outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'event';

DROP INDEX event_outbox_by_key;
DROP INDEX event_outbox_due;
CREATE INDEX event_outbox_by_key ON event_outbox (kind, state, target, bucket, key, id);
CREATE INDEX event_outbox_due ON event_outbox (kind, state, next_attempt);

-- Targets added with `kloudvault admin replication target add`: an S3 endpoint and its
-- credentials (secret sealed as access key secrets are: auth/sealed.py), and the buckets
-- on it that rules may name (arn:aws:s3:::BUCKET selects the target serving BUCKET; a
-- bucket is served by one target at most). kloudvault: the endpoint is a KloudVault
-- that keeps version ids and marks replicas (x-kloudvault-replica).
CREATE TABLE replication_targets (
    name TEXT /*pg COLLATE "C" */ PRIMARY KEY,
    endpoint TEXT NOT NULL,
    access_key TEXT NOT NULL,
    secret TEXT NOT NULL,
    region TEXT NOT NULL DEFAULT 'us-east-1',
    kloudvault BOOLEAN NOT NULL DEFAULT FALSE,
    created DOUBLE PRECISION NOT NULL
);

CREATE TABLE replication_destinations (
    bucket TEXT /*pg COLLATE "C" */ PRIMARY KEY,
    target TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES replication_targets (name) ON DELETE CASCADE
);
