-- 0019: every uploaded candidate of a part number, kept until Complete or Abort (issue #19,
-- item 6).
--
-- Two uploads of one part number may both succeed (a client retrying after a timeout, two
-- workers racing): CompleteMultipartUpload must use the one whose ETag it names, so no
-- candidate is dropped before then (gateway/meta/uploads.py says which are, and when).
-- The primary key grows by blob_id; ListParts shows each number's latest candidate (the
-- one whose request began last), found through this key.
--
-- SQLite cannot change a primary key in place: the table is rebuilt, the same way on both
-- databases (the codec column came with 0007).

CREATE TABLE upload_parts_0019 (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id),
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    checksums TEXT NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    codec TEXT,
    PRIMARY KEY (upload_id, part_number, blob_id)
);

INSERT INTO upload_parts_0019
    (upload_id, part_number, blob_id, size, etag, checksums, last_modified, codec)
SELECT upload_id, part_number, blob_id, size, etag, checksums, last_modified, codec
FROM upload_parts;

DROP TABLE upload_parts;

ALTER TABLE upload_parts_0019 RENAME TO upload_parts;

/*pg ALTER TABLE upload_parts RENAME CONSTRAINT upload_parts_0019_pkey TO upload_parts_pkey; */

-- "Is this blob used?" (collector, scrubber): as in 0002.
CREATE INDEX upload_parts_by_blob ON upload_parts (blob_id);
