-- 0009: federated identity (issue #20). IAM roles with their trust policies (a role's
-- inline and attached policies are iam_inline_policies / iam_attachments rows of kind
-- 'role'), OpenID Connect providers, and the STS sessions that temporary credentials
-- name.

CREATE TABLE iam_roles (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    name TEXT /*pg COLLATE "C" */ NOT NULL,
    role_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '/',
    trust_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration INTEGER NOT NULL DEFAULT 3600,
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, name)
);

-- arn:aws:iam::<account id>:oidc-provider/<url without https://>; client ids and
-- thumbprints as JSON arrays.
CREATE TABLE iam_oidc_providers (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    url TEXT /*pg COLLATE "C" */ NOT NULL,
    client_ids TEXT NOT NULL,
    thumbprints TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, url)
);

-- Temporary credentials. The secret is kept (SigV4 verification needs it, as for
-- access_keys); the session token only as its SHA-256. role NULL: GetSessionToken's
-- session of the account (iam_user NULL) or of one of its IAM users.
CREATE TABLE sts_sessions (
    access_key TEXT PRIMARY KEY,
    secret_key TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    role TEXT /*pg COLLATE "C" */,
    iam_user TEXT /*pg COLLATE "C" */,
    session_name TEXT,
    session_policy TEXT,
    source TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX sts_sessions_by_role ON sts_sessions (account, role);
CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires);
