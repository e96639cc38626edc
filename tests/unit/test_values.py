"""gateway/values.py: quick_init's __init__ builds what the dataclass's own would, and
refuses the classes it cannot stand in for."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, InitVar, dataclass, field
from typing import Any

import pytest

from gateway.meta.base import ObjectVersion
from gateway.values import quick_init


def _twins() -> tuple[type[Any], type[Any]]:
    def make() -> type[Any]:
        @dataclass(frozen=True)
        class Value:
            name: str
            size: int = 0
            tags: dict[str, str] = field(default_factory=dict)
            parts: tuple[int, ...] = ()

        return Value

    return make(), quick_init(make())


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 3), {"parts": (1,)}), ((), {"name": "b", "tags": {"k": "v"}})],
)
def test_the_same_instance_as_the_dataclass_init(args: Any, kwargs: Any) -> None:
    plain, quick = _twins()
    expected, got = plain(*args, **kwargs), quick(*args, **kwargs)
    assert vars(got) == vars(expected)
    assert repr(got).replace(quick.__qualname__, plain.__qualname__) == repr(expected)
    assert got == quick(*args, **kwargs) and got != plain(*args, **kwargs)  # eq: same class
    assert list(inspect.signature(quick).parameters) == list(inspect.signature(plain).parameters)


def test_defaults_are_fresh_frozen_and_replace_still_works() -> None:
    _, quick = _twins()
    first, second = quick("a"), quick("a")
    assert first.tags is not second.tags  # default_factory called per instance
    with pytest.raises(FrozenInstanceError):
        first.size = 1
    assert dataclasses.replace(first, size=2) == quick("a", 2)
    with pytest.raises(TypeError):
        quick()  # the required field is still required
    with pytest.raises(TypeError):
        quick("a", nope=1)


def test_an_object_version_has_every_field() -> None:
    v = ObjectVersion("b", "k", "v1", 1.0)
    assert set(vars(v)) == {f.name for f in dataclasses.fields(ObjectVersion)}
    assert v.headers == {} and v.is_latest and v.inline_data is None


def test_refuses_what_it_cannot_stand_in_for() -> None:
    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    @dataclass(frozen=True)
    class Posted:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    @dataclass(frozen=True)
    class NotInit:
        a: int = field(default=0, init=False)

    @dataclass(frozen=True)
    class WithInitVar:
        a: int
        b: InitVar[int]

    for cls in (Mutable, Slotted, Posted, KeywordOnly, NotInit, WithInitVar):
        with pytest.raises(TypeError):
            quick_init(cls)
