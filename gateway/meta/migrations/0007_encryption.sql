-- 0007: server-side encryption of multipart uploads (issue #13).
--
-- uploads.encryption: what CreateMultipartUpload asked for, as JSON of a SegmentCodec
-- (gateway/codec/params.py) whose sealed key proves each UploadPart's key is the same
-- (SSE-C); NULL: parts are stored plain.
-- upload_parts.codec: how the part's blob holds its bytes (JSON of a SegmentCodec; NULL:
-- plain); CompleteMultipartUpload copies it into the version's segments.
-- Versions need no column: their segments (JSON) carry each segment's codec.

ALTER TABLE uploads ADD COLUMN encryption TEXT;
ALTER TABLE upload_parts ADD COLUMN codec TEXT;
