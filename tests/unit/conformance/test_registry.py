"""conformance.registry: every scenario is well-formed and --quick keeps every cell."""

from __future__ import annotations

from conformance.registry import CLIENTS, FEATURES, select


def test_every_cell_keeps_a_quick_scenario() -> None:
    full = {(s.feature, s.client) for s in select()}
    quick = {(s.feature, s.client) for s in select(quick=True)}
    assert full == quick


def test_every_feature_has_scenarios_and_ids_are_unique() -> None:
    scenarios = select()
    assert {s.feature for s in scenarios} == set(FEATURES)
    assert {s.client for s in scenarios} <= set(CLIENTS)
    ids = [s.id for s in scenarios]
    assert len(ids) == len(set(ids))


def test_unsupported_cells_are_not_also_scenarios() -> None:
    scenarios = select()
    unsupported = {(s.feature, s.client) for s in scenarios if s.fn is None}
    runnable = {(s.feature, s.client) for s in scenarios if s.fn is not None}
    assert not unsupported & runnable


def test_filters() -> None:
    only = select({"ranges"}, {"boto3"})
    assert only and all(s.feature == "ranges" and s.client == "boto3" for s in only)
