-- 0016: console sessions that act as STS temporary credentials (issue #20, single sign-on:
-- gateway/console/sso.py). A session signed in through the OpenID Connect provider holds
-- the credentials AssumeRoleWithWebIdentity minted: its access key names an sts_sessions
-- row, not an access_keys row, and the console needs the session token itself to presign
-- (X-Amz-Security-Token), so the token is kept, sealed like a secret (auth/sealed.py).
--
-- Exactly one of access_key (a long-term key) and sts_access_key (a temporary one) is set;
-- deleting either ends the session. The table is rebuilt rather than altered (SQLite
-- cannot drop a foreign key): sessions are short-lived, and upgrading signs everyone out.

DROP TABLE console_sessions;

CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    access_key TEXT /*pg COLLATE "C" */
        REFERENCES access_keys (access_key) ON DELETE CASCADE,
    sts_access_key TEXT REFERENCES sts_sessions (access_key) ON DELETE CASCADE,
    session_token TEXT,
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    iam_user TEXT /*pg COLLATE "C" */,
    created DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    FOREIGN KEY (account, iam_user) REFERENCES iam_users (account, name) ON DELETE CASCADE,
    CHECK ((access_key IS NULL) <> (sts_access_key IS NULL)),
    CHECK ((sts_access_key IS NULL) = (session_token IS NULL))
);

CREATE INDEX console_sessions_by_expiry ON console_sessions (expires);
