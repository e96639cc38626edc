"""tus 1.0 resumable uploads (issue #12, part 4) at /_kv/tus/, on the multipart machinery:
a finished tus upload is an ordinary object, an abandoned one an incomplete multipart
upload (ListMultipartUploads shows it; AbortMultipartUpload or a lifecycle
AbortIncompleteMultipartUpload rule ends it, and its tus URL with it).

    protocol.py  tus headers, limits and CORS, sans-IO
    paths.py     which requests are ours: /_kv/tus/<bucket>/<key> and /_kv/tus/<token>
    create.py    POST: a signed (presigned) creation, authorized as s3:PutObject
    body.py      a PATCH body cut into parts' pieces, checksummed, kept when cut short
    append.py    bytes onto parts (every part but the last at least 5 MiB)
    complete.py  the last byte in: CompleteMultipartUpload
    endpoint.py  the entry dispatch calls, and the answers
"""
