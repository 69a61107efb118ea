"""django-ninja names an OpenAPI component after its schema class: two classes with one name silently share one
component, and responses are then documented (and validated) against the wrong schema. Every schema of the API must
have a name of its own."""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

import config.api  # noqa: F401  (imports every router, and so every schema)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_every_api_schema_has_a_name_of_its_own():
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in _subclasses(Schema):
        if cls.__module__.startswith(("gongzhi.", "config.")):
            by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")
    clashes = {name: sorted(where) for name, where in by_name.items() if len(where) > 1}
    assert not clashes, clashes
