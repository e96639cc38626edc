"""The web console (issue #16): served by the gateway, shipped in the package, no CDN.

    paths.py      which requests are the console's: /console/ (its pages) and /_kv/console/
    static.py     the pages and scripts under static/ (vendored Uppy in static/vendor/):
                  app.js (objects, uploads, shares), settings.js (+ notifications.js,
                  quota.js), iam.js (IAM users, groups, policies), admin.js (accounts, usage)
    sessions.py   sign-in sessions: cookie token, CSRF token, idle and absolute expiry
    presign.py    the S3 requests the console may have signed, as presigned URLs
    iam_signing.py  IAM query API calls signed for the session's key (the IAM pages)
    api.py        the JSON API: session, presign, IAM signing, targets, shares, admin
    sso_flow.py   single sign-on's pure parts: flow cookie, state, nonce, PKCE verifier
    sso.py        single sign-on (OpenID Connect code flow + AssumeRoleWithWebIdentity)
    endpoint.py   the entry dispatch calls before S3 routing

How the console acts as its user: the browser never holds the secret. It signs in once
(the server checks the key and secret and keeps a session in the metastore), then asks
the server to presign each S3 request it wants to send (ListObjectsV2, PutObject,
UploadPart...) with the session's key, and sends that request to the S3 endpoint itself.
Every action is therefore authenticated and authorized by dispatch exactly as any S3
request: the console can never do more than its keys. Signed in by single sign-on, the
session's key is the STS temporary credentials of the console's role, and the URLs carry
their session token. IAM calls are signed the same way (service "iam", the form body
signed by its hash) and posted by the browser to the IAM endpoint. The administrator's
pages call the admin API (gateway/admin/) as the session's principal, where the same
check refuses anyone but the root account's own keys. Share links go through the share
API's own code (gateway/sharing/api.py) as the session's principal.
"""
