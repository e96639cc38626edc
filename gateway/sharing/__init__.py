"""Revocable share links (issue #12, part 5): `/s/TOKEN` streams one object to whoever
holds the token, for as long as the link is active and its creator may still read it.

    tokens.py    token, hash, link id and duration syntax (pure)
    links.py     creating a link and re-checking the creator's read access (policy engine)
    download.py  GET/HEAD /s/TOKEN
    api.py       the console's JSON API, /_kv/shares (SigV4-signed)
    admin.py     `kloudvault share create|list|revoke`
    paths.py     which requests are ours: paths no bucket can have
    endpoint.py  the entry dispatch calls before S3 routing

Why not presigned URLs: a presigned URL cannot be revoked, counted or limited. A link
is a row (gateway/meta/shares.py) holding the token's SHA-256 and never the token; it
is read uncached on every download, so a revoke holds on every replica at once.
"""
