"""The open-data API of 析 measure: the stored results of every community beneath a place for a period, with small
counts suppressed (``gongzhi.analytics.reports.opendata`` holds the rules), as JSON.

- ``GET /measure/opendata/{code}/{period}``: what the dataset holds (communities, rows, suppressed rows, the rules,
  the columns) and where the CSV and XLSX files are;
- ``GET /measure/opendata/{code}/{period}/rows``: the rows, paginated (``?page=``), in the files' order.

Permission: ``analytics.export_opendata`` on the place (admins and street staff covering it). A place the caller does
not cover, or a period without results, is 404; a covered place without the permission is 403. Every rows request is
recorded in the audit log as an export.
"""

import datetime
from typing import Any

from django.urls import reverse
from ninja import Field, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from gongzhi.core.api import MAX_PAGE_SIZE, PAGE_SIZE, ApiRequest, errors

from . import opendata

router = Router(tags=["measure-reports"])


class OpendataRowOut(Schema):
    place_code: str = Field(..., description="社区的 12 位区划代码")
    place_name: str
    period: str
    indicator: str = Field(..., description="指标编号（I1 … G2、S_*、POP、NODES、EDGES、DENSITY、DIM_I … COMPOSITE）")
    indicator_name: str
    value: float | None = Field(..., description="原始值；无数据或被隐藏时为 null")
    score: float | None = Field(..., description="0–100 得分（计分指标）")
    numerator: float | None = Field(..., description="分子（计数）")
    denominator: float | None = Field(..., description="分母（计数）")
    suppressed: list[str] = Field(..., description="按小数保护规则隐藏（置为 null）的字段")


class OpendataFilesOut(Schema):
    csv: str
    xlsx: str
    rows: str


class OpendataOut(Schema):
    place_code: str
    place_name: str
    period: str
    computed_at: datetime.datetime | None
    communities: int
    rows: int
    suppressed_rows: int
    columns: list[str]
    rules: list[str] = Field(..., description="小数保护与格式规则")
    files: OpendataFilesOut


@router.get(
    "/measure/opendata/{code}/{period}",
    response={200: OpendataOut, **errors(401, 403, 404, 422)},
    summary="开放数据：数据集说明",
)
def opendata_summary(request: ApiRequest, code: str, period: str) -> Any:
    data = opendata.opendata_get(user=request.auth, code=code, period=period)
    return {
        "place_code": data.place.code,
        "place_name": data.place.name,
        "period": data.period,
        "computed_at": data.computed_at,
        "communities": data.communities,
        "rows": len(data.rows),
        "suppressed_rows": data.suppressed_rows,
        "columns": list(opendata.COLUMNS),
        "rules": opendata.rules_text(),
        "files": {
            "csv": reverse("measure_opendata_csv", args=[data.place.code, data.period]),
            "xlsx": reverse("measure_opendata_xlsx", args=[data.place.code, data.period]),
            "rows": reverse("api:opendata_rows", args=[data.place.code, data.period]),
        },
    }


@router.get(
    "/measure/opendata/{code}/{period}/rows",
    response={200: list[OpendataRowOut], **errors(401, 403, 404, 422)},
    summary="开放数据：各社区各指标（分页）",
    url_name="opendata_rows",
)
@paginate(PageNumberPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def opendata_rows(request: ApiRequest, code: str, period: str) -> Any:
    data = opendata.opendata_get(user=request.auth, code=code, period=period)
    opendata.opendata_export_record(actor=request.auth, data=data, file_format="json")
    return list(opendata.as_json_rows(data))
