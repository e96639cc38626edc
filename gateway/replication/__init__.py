"""Bucket replication (issue 21): the rules' cache, the operator's targets and their clients,
the copy of one change, and `kloudvault admin replication`. The rules are pure
(gateway/s3/replication.py), the work rides the event outbox (gateway/meta/events.py), the
worker is gateway/jobs/replication.py."""
