"""gateway/audit.py: a record is one line of JSON with every field, nulls included."""

from __future__ import annotations

import json

from gateway.audit import AuditRecord


def test_record_is_one_json_line() -> None:
    record = AuditRecord(
        time="2025-01-31T12:00:00.123Z",
        request_id="0123456789ABCDEF",
        account="root",
        iam_user=None,
        access_key_id="KVEXAMPLE",
        auth_type="REST-HEADER",
        source_ip="10.0.0.1",
        method="PUT",
        operation="PutObject",
        bucket="b",
        key="dir/ünïcode\nkey",
        version_id=None,
        status=200,
        error_code=None,
        bytes_in=5,
        bytes_out=0,
        duration_ms=1.5,
    )
    line = record.to_json()
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["key"] == "dir/ünïcode\nkey"
    assert parsed["iam_user"] is None and parsed["status"] == 200
    assert list(parsed) == [
        "time",
        "request_id",
        "account",
        "iam_user",
        "access_key_id",
        "auth_type",
        "source_ip",
        "method",
        "operation",
        "bucket",
        "key",
        "version_id",
        "status",
        "error_code",
        "bytes_in",
        "bytes_out",
        "duration_ms",
        "trace_id",
    ]
