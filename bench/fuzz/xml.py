"""Every XML request-body codec: gateway.xml.codec.parse(Model, body), one target per model.

The input is the body as sent. Parsing may only answer S3Error (MalformedXML, or the
model's own InvalidArgument/InvalidRequest and the like).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import partial
from typing import Any

import gateway.xml
from bench.fuzz.harness import Target
from gateway.errors import S3Error
from gateway.xml import codec


def _load_codecs() -> list[type[Any]]:
    # Importing a gateway.xml module registers its parsers.
    for module in pkgutil.iter_modules(gateway.xml.__path__):
        importlib.import_module(f"gateway.xml.{module.name}")
    return sorted(codec.parsed_models(), key=lambda cls: cls.__name__)


def run(model: type[Any], data: bytes) -> None:
    codec.parse(model, data)


def targets() -> list[Target]:
    return [Target(f"xml-{m.__name__}", partial(run, m), (S3Error,)) for m in _load_codecs()]
