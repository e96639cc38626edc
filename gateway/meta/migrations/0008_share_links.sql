-- 0008: revocable share links (issue #12, part 5; gateway/sharing/).
--
-- A link is a bearer token for one object (or one version of it). The token itself is
-- never stored: token_hash is the hex SHA-256 of it, so a leaked table hands out no
-- working link. link_id names the link for list and revoke. The link acts with the
-- creator's read access, re-checked at every download: account, and iam_user (NULL: the
-- account's own key). Deleting the account, the IAM user or the bucket deletes its links.
-- downloads counts GETs served; max_downloads (NULL: no limit) caps it, enforced by the
-- one UPDATE that counts (gateway/meta/shares.py).

CREATE TABLE share_links (
    token_hash TEXT PRIMARY KEY,
    link_id TEXT NOT NULL UNIQUE,
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    iam_user TEXT /*pg COLLATE "C" */,
    bucket TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
    key TEXT /*pg COLLATE "C" */ NOT NULL,
    version_id TEXT,
    created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL,
    max_downloads BIGINT,
    downloads BIGINT NOT NULL DEFAULT 0,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    FOREIGN KEY (account, iam_user) REFERENCES iam_users (account, name) ON DELETE CASCADE
);

CREATE INDEX share_links_by_creator ON share_links (account, iam_user, created);
