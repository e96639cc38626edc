"""gateway.handlers against gateway.routing: every routed operation has its handler and
every handler a route; what dispatch and authorization read comes from the row."""

from __future__ import annotations

import inspect

from gateway.handlers import HANDLERS
from gateway.routing import ROUTES, Target


def test_every_route_has_a_handler_and_every_handler_a_route() -> None:
    routed = {route.operation for route in ROUTES}
    assert routed == set(HANDLERS)


def test_handlers_are_named_after_their_operation() -> None:
    for operation, handler in HANDLERS.items():
        assert inspect.iscoroutinefunction(handler), operation
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
        assert handler.__name__ == snake, operation


def test_only_create_bucket_and_list_buckets_skip_the_bucket_lookup() -> None:
    skipping = {
        r.operation for r in ROUTES if r.target is not Target.SERVICE and not r.looks_up_bucket
    }
    assert skipping == {"CreateBucket"}
    assert not next(r for r in ROUTES if r.operation == "ListBuckets").looks_up_bucket


def test_service_level_actions() -> None:
    assert {r.operation for r in ROUTES if r.service_level} == {"ListBuckets", "CreateBucket"}
