-- 0005: access control (issue #11). Every user of 0001 is an account: it owns its
-- buckets and its access keys act as the account itself. Inside an account live IAM
-- users, groups and managed policies; bucket policies, bucket ACLs, ownership controls
-- and public access blocks are bucket_configs documents (no table of their own).
--
-- Existing rows keep exactly their rights: an account's own key (iam_user NULL) may do
-- everything in the account, and root administers every account, as before.

ALTER TABLE users ADD COLUMN email TEXT;

-- NULL: the account's own key. Otherwise the IAM user (of account user_name) it belongs to.
ALTER TABLE access_keys ADD COLUMN iam_user TEXT /*pg COLLATE "C" */;
ALTER TABLE access_keys ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;

-- An object version's ACL as compact JSON (auth/policy/acl.py); NULL: private, the
-- owner has FULL_CONTROL. An upload carries the ACL its CreateMultipartUpload asked for.
ALTER TABLE versions ADD COLUMN acl TEXT;
ALTER TABLE uploads ADD COLUMN acl TEXT;

CREATE TABLE iam_users (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    name TEXT /*pg COLLATE "C" */ NOT NULL,
    user_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '/',
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, name)
);

CREATE TABLE iam_groups (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    name TEXT /*pg COLLATE "C" */ NOT NULL,
    group_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '/',
    created DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, name)
);

CREATE TABLE iam_group_members (
    account TEXT /*pg COLLATE "C" */ NOT NULL,
    group_name TEXT /*pg COLLATE "C" */ NOT NULL,
    user_name TEXT /*pg COLLATE "C" */ NOT NULL,
    PRIMARY KEY (account, group_name, user_name),
    FOREIGN KEY (account, group_name) REFERENCES iam_groups (account, name) ON DELETE CASCADE,
    FOREIGN KEY (account, user_name) REFERENCES iam_users (account, name) ON DELETE CASCADE
);

CREATE INDEX iam_group_members_by_user ON iam_group_members (account, user_name);

-- Customer managed policies (arn:aws:iam::<account id>:policy<path><name>); one version.
CREATE TABLE iam_policies (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    name TEXT /*pg COLLATE "C" */ NOT NULL,
    policy_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL DEFAULT '/',
    document TEXT NOT NULL,
    description TEXT,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, name)
);

-- Inline policies of a user or a group: kind 'user' or 'group', owner its name.
CREATE TABLE iam_inline_policies (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    owner TEXT /*pg COLLATE "C" */ NOT NULL,
    name TEXT /*pg COLLATE "C" */ NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account, kind, owner, name)
);

-- Managed policies attached to a user or a group.
CREATE TABLE iam_attachments (
    account TEXT /*pg COLLATE "C" */ NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    owner TEXT /*pg COLLATE "C" */ NOT NULL,
    policy_name TEXT /*pg COLLATE "C" */ NOT NULL,
    PRIMARY KEY (account, kind, owner, policy_name),
    FOREIGN KEY (account, policy_name) REFERENCES iam_policies (account, name)
);

CREATE INDEX iam_attachments_by_policy ON iam_attachments (account, policy_name);
