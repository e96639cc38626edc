"""Bucket notifications: configuration, event records, the outbox, targets, the malware scan."""
