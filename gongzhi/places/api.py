"""Places API: the places the caller covers, their children and population.

Which places a caller covers is decided by their role grants, so this router reads through ``gongzhi.people``'s
selectors (the one place where the places API looks up to people; see docs/architecture.md).
"""

from typing import Any

from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from gongzhi.core.api import CODE_PATTERN, MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors
from gongzhi.people import selectors as people_selectors

from . import selectors
from .models import Level, Place

# --- places -----------------------------------------------------------------------------------------------------


class PlaceOut(Schema):
    code: str
    name: str
    level: Level
    parent_code: str | None

    @staticmethod
    def resolve_parent_code(obj: Place) -> str | None:
        return obj.parent_id


class PopulationOut(Schema):
    year: int
    population: int


class PlaceFilters(Schema):
    level: Level | None = Field(None, description="只看这一层级")
    parent: str | None = Field(None, pattern=CODE_PATTERN, description="只看这个区划的下级（12 位代码）")
    q: str = Field("", max_length=50, description="名称包含")


router = Router(tags=["places"])


@router.get("/places", response={200: list[PlaceOut], **errors(401, 422)}, summary="我能看到的区划")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def place_list(request: ApiRequest, filters: Query[PlaceFilters]) -> Any:
    return people_selectors.places_visible(
        user=request.auth, level=filters.level or "", parent=filters.parent or "", search=filters.q
    )


@router.get("/places/{code}", response={200: PlaceOut, **errors(401, 404)}, summary="一个区划")
def place_detail(request: ApiRequest, code: str) -> Any:
    return selectors.place_for_user(user=request.auth, code=code)


@router.get("/places/{code}/children", response={200: list[PlaceOut], **errors(401, 404, 422)}, summary="下级区划")
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def place_children(request: ApiRequest, code: str) -> Any:
    return selectors.place_children(place=selectors.place_for_user(user=request.auth, code=code))


@router.get(
    "/places/{code}/population",
    response={200: list[PopulationOut], **errors(401, 404)},
    summary="逐年人口",
    description="社区的官方人口；街道及以上为其下各社区之和。",
)
def place_population(request: ApiRequest, code: str) -> Any:
    return selectors.population_by_year(place=selectors.place_for_user(user=request.auth, code=code))
