-- 0020: listings read the index alone (issue 17 item 4).
--
-- ListObjects reads the nine columns of gateway/meta/rows.py LISTED_COLUMNS of the latest
-- versions, in key order. Through versions_latest (bucket, key) each row was an index
-- entry plus a lookup in the table b-tree, scattered over the table: most of a page's
-- time on a large bucket. With the columns in an index, a page is a contiguous run of
-- index leaves. inline_data (object bodies) is not among them and must never be.
--
-- SQLite has no INCLUDE, and versions_latest must stay (bucket, key) to keep one latest
-- version per key unique: a second partial index carries the listed columns as keys
-- (after (bucket, key), which are unique, so they do not change the order). is_latest is
-- in it because SQLite only counts an index as covering if it holds every column the
-- query names, the partial index's WHERE included.
-- PostgreSQL: versions_latest itself INCLUDEs them (one index to maintain per write, not
-- two); its skip scan already read keys from it.

/*sqlite
CREATE INDEX versions_listed ON versions (
    bucket, key, is_latest, is_delete_marker, version_id, last_modified, size, etag, owner,
    storage_class, checksums, checksum_type
) WHERE is_latest;
*/

/*pg
DROP INDEX versions_latest;
CREATE UNIQUE INDEX versions_latest ON versions (bucket, key)
    INCLUDE (
        is_delete_marker, version_id, last_modified, size, etag, owner, storage_class,
        checksums, checksum_type
    ) WHERE is_latest;
*/
