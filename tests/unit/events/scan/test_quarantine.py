"""events/scan/quarantine.py: what a quarantined version looks like."""

from __future__ import annotations

from events.scan.quarantine import (
    INFECTED,
    SCAN_TAG,
    SIGNATURE_TAG,
    UNSCANNED,
    is_quarantined,
    quarantined,
    tag_value,
)
from gateway.meta.base import ObjectVersion


def version(**fields: object) -> ObjectVersion:
    return ObjectVersion(bucket="b", key="k", version_id="null", last_modified=0.0, **fields)  # type: ignore[arg-type]


def test_quarantined_adds_tags_and_keeps_the_others() -> None:
    out = quarantined(version(tags={"team": "a"}), INFECTED, "Eicar-Signature", hold=True)
    assert out.tags == {"team": "a", SCAN_TAG: INFECTED, SIGNATURE_TAG: "Eicar-Signature"}
    assert out.legal_hold and is_quarantined(out)


def test_legal_hold_only_where_it_can_be_lifted() -> None:
    assert not quarantined(version(), UNSCANNED, "too large", hold=False).legal_hold
    assert quarantined(version(legal_hold=True), INFECTED, "x", hold=False).legal_hold


def test_is_quarantined_reads_the_tag_value() -> None:
    assert not is_quarantined(version())
    assert not is_quarantined(version(tags={SCAN_TAG: "clean"}))
    assert is_quarantined(version(tags={SCAN_TAG: UNSCANNED}))


def test_tag_value_keeps_to_what_s3_allows() -> None:
    assert tag_value("Win.Test.EICAR_HDB-1") == "Win.Test.EICAR_HDB-1"
    assert tag_value("clamd: can't (x) ok") == "clamd: can_t _x_ ok"
    assert len(tag_value("x" * 300)) == 256
