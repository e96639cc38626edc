"""Pure S3 rules: headers, preconditions, tagging, object lock, multipart, bucket names,
versions. Nothing here imports aiohttp, a MetaStore implementation or a backend."""
