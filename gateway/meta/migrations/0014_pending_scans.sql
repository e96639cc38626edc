-- 0014: the malware scan's pending list (issue #15, item 5; events/scan/worker.py).
--
-- With --scan-mode async, a stored object is scanned right after its commit. Each version
-- waiting for its scan is a row here, so a restart (or another replica) resumes what a
-- stopped process had not scanned. `due` is when the row may next be claimed: a claim
-- moves it a lease ahead (a process that dies mid-scan leaves the row to be claimed
-- again), a failed attempt moves it by the backoff; a scanned version's row is deleted.

CREATE TABLE pending_scans (
    bucket TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    key TEXT /*pg COLLATE "C" */ NOT NULL,
    version_id TEXT NOT NULL,
    enqueued DOUBLE PRECISION NOT NULL,
    due DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, key, version_id)
);

CREATE INDEX pending_scans_by_due ON pending_scans (due);
