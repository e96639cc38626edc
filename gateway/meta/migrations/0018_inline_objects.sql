-- 0018: small objects stored inline (issue 17).
--
-- versions.inline_data: the stored bytes of a version whose one segment is inline
-- ("inline": true in segments; gateway/writepath.py INLINE_LIMIT), coded exactly as its
-- blob would be (sealed or compressed frames, or the plaintext). NULL: the bytes are in
-- blobs. The bytes live and die with their row, so no blob list ever names them.
-- Listings never select the column: SQLite keeps it on overflow pages they do not read,
-- PostgreSQL in TOAST.

ALTER TABLE versions ADD COLUMN inline_data /*sqlite BLOB */ /*pg BYTEA */;
