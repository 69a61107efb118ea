"""Writes of places and populations."""

from __future__ import annotations

from django.db import transaction

from gongzhi.core.audit import audit_record

from . import codes
from .models import Place, Population


@transaction.atomic
def place_create(*, code: str, name: str, actor=None) -> Place:
    level = codes.level_of(codes.validate_code(code))
    place = Place(code=code, name=name, level=level, parent_id=codes.parent_code_of(code))
    place.full_clean()
    place.save(force_insert=True)
    audit_record(actor=actor, action="create", target_type="place", target_id=code, place_code=code, summary=name)
    return place


@transaction.atomic
def population_set(*, place: Place, year: int, population: int, actor=None) -> Population:
    row, _ = Population.objects.select_for_update().get_or_create(
        place=place, year=year, defaults={"population": population}
    )
    if row.population != population:
        row.population = population
        row.full_clean()
        row.save(update_fields=["population"])
    audit_record(
        actor=actor,
        action="update",
        target_type="population",
        target_id=f"{place.code}:{year}",
        place_code=place.code,
        changes={"population": population},
    )
    return row
