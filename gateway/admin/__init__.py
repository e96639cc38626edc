"""The administrator's JSON API (issue #16's admin pages): accounts and their keys,
quotas, and the usage overview, which no S3 or IAM operation covers.

    paths.py    which requests are its: /_kv/admin/...
    usage.py    pure: the usage overview from bucket rows, usage counters and quotas
    api.py      the API, SigV4-signed or from the web console's session (one check for both)

Only the service's administrator may call it: the root account's own keys (the account
that also administers the others, ../shared/DESIGN.md). An IAM user of root, a role
session or another account is refused with AccessDenied, whichever door it comes by.
"""
