-- 0017: web console sessions (issue #16; gateway/console/sessions.py).
--
-- A session is what a browser holds after signing in with an access key and its secret:
-- an HttpOnly cookie carrying a random token. The token is never stored: token_hash is its
-- hex SHA-256, so a leaked table signs nobody in. The session acts as access_key (the
-- console presigns each S3 request with it), so deleting the key, its IAM user or its
-- account ends the session. It ends too when idle past the idle timeout (last_seen) or
-- at expires (sign-in time + the session lifetime), whichever comes first. In the
-- metastore, so that every replica and worker process sees the same sessions.

CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    access_key TEXT /*pg COLLATE "C" */ NOT NULL
        REFERENCES access_keys (access_key) ON DELETE CASCADE,
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    iam_user TEXT /*pg COLLATE "C" */,
    created DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    FOREIGN KEY (account, iam_user) REFERENCES iam_users (account, name) ON DELETE CASCADE
);

CREATE INDEX console_sessions_by_expiry ON console_sessions (expires);
