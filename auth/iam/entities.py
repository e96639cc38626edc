"""The Get and List shapes users, groups and roles share.

GetUser, GetGroup and GetRole answer NoSuchEntity or the entity's element; ListUsers,
ListGroups and ListRoles page by PathPrefix, Marker and MaxItems and answer the entities as
`member` elements, then IsTruncated and Marker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from auth.iam.api import Call, Result
from auth.iam.errors import no_such_entity
from auth.iam.render import Element
from auth.iam.shapes import members, page_tail
from gateway.meta.base import IamPage

T = TypeVar("T")
Shape = Callable[[T, str], list[Element]]


async def get_entity(
    call: Call,
    kind: str,
    name: str,
    getter: Callable[[str, str], Awaitable[T | None]],
    shape: Shape[T],
    element: str,
) -> Result:
    found = await getter(call.account, name)
    if found is None:
        raise no_such_entity(kind, name)
    return [(element, shape(found, call.account_id))]


async def list_entities(
    call: Call, lister: Callable[..., Awaitable[IamPage[Any]]], shape: Shape[Any], element: str
) -> Result:
    page = await lister(
        call.account,
        path_prefix=call.params.path_prefix(),
        marker=call.params.marker(),
        max_items=call.params.max_items(),
    )
    listed = members([shape(item, call.account_id) for item in page.items])
    return [(element, listed), *page_tail(page.is_truncated, page.marker)]
