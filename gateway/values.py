"""A quicker __init__ for the frozen dataclasses every request builds.

A frozen dataclass's generated __init__ sets each field through `object.__setattr__`: a
global lookup, an attribute lookup and a call through a slot wrapper per field. A 4 KiB
PUT sets some 170 fields that way, about a twelfth of its instructions (callgrind,
bench/RESULTS.md). `quick_init(cls)` gives such a class an __init__ of the same signature
that writes the instance's dict with one dict literal instead. Everything else stays the
dataclass's: fields, eq, repr, hash, replace(), and assignment still raises
FrozenInstanceError.

Only for plain frozen dataclasses: with an instance dict (no slots), every field init=True
and positional, no __post_init__ and no InitVar. Anything else raises TypeError when the
class is defined, so a change to such a class cannot silently drop what its __init__ did.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar, cast

T = TypeVar("T")

_MISSING = object()  # a default_factory field not given


def quick_init(cls: type[T]) -> type[T]:
    """Replace the frozen dataclass `cls`'s __init__ (see the module docstring)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen dataclasses")
    if "__slots__" in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: quick_init needs no slots and no __post_init__")
    fields = dataclasses.fields(cast(Any, cls))  # a dataclass: checked above
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    args: list[str] = []
    items: list[str] = []
    for f in fields:
        if not f.init or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: quick_init needs plain fields")
        value = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            args.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            args.append(f"{f.name}=_MISSING")
            value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
        else:
            args.append(f.name)
        items.append(f"{f.name!r}: {value}")
    # The generated __init__'s parameters are the fields, in order (no InitVar among them).
    original = list(inspect.signature(cls.__init__).parameters)[1:]
    if original != [f.name for f in fields]:
        raise TypeError(f"{cls.__name__}: quick_init needs the fields as the parameters")
    source = (
        f"def __init__(self, {', '.join(args)}):\n"
        f"    self.__dict__.update({{{', '.join(items)}}})\n"
    )
    exec(source, namespace)  # as dataclasses itself makes __init__, from field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
