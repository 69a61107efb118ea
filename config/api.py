"""The HTTP API (django-ninja), mounted at /api/v1/.

- Authentication: a bearer token (integrations) or the browser session with CSRF (see ``gongzhi.people.api``).
- Every error has one shape: ``{"error": {"code": "...", "message": "...", "fields": {...}}}``.
- The OpenAPI document is at /api/v1/openapi.json, its Swagger UI at /api/v1/docs — with the Swagger UI files that
  django-ninja ships, served from here, so the page needs no CDN (ninja itself only uses its local files when "ninja" is
  in INSTALLED_APPS, and falls back to a CDN otherwise).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import ninja
import ninja.renderers
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase

from gongzhi.activities.api import router as activities_router
from gongzhi.activities.fulfilment.api import router as fulfilment_router
from gongzhi.activities.volunteering.api import router as volunteering_router
from gongzhi.analytics.dashboard.api import router as measure_dashboard_router
from gongzhi.analytics.mechanism.api import router as measure_mechanism_router
from gongzhi.analytics.pipeline.api import router as measure_pipeline_router
from gongzhi.analytics.reports.api import router as measure_reports_router
from gongzhi.analytics.survey.api import router as measure_survey_router
from gongzhi.core.errors import DomainError
from gongzhi.deliberation.api import router as deliberation_router
from gongzhi.learning.api import router as learning_router
from gongzhi.learning.credentials.api import router as credentials_router
from gongzhi.learning.credentials.programme_api import router as programmes_router
from gongzhi.learning.stars.api import router as stars_router
from gongzhi.learning.testing.api import router as testing_router
from gongzhi.organizations.api import router as organizations_router
from gongzhi.organizations.cultivation.api import router as cultivation_router
from gongzhi.people.api import AUTH
from gongzhi.people.api import router as people_router
from gongzhi.places.api import router as places_router
from gongzhi.resources.api import router as resources_router

logger = logging.getLogger("gongzhi.api")

NAMESPACE = "api"
NINJA_STATIC = Path(ninja.__file__).resolve().parent / "static" / "ninja"
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png", "favicon.svg"})


class JSONRenderer(ninja.renderers.JSONRenderer):
    """JSON with Chinese text as is (UTF-8), not as \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


class LocalSwagger(DocsBase):
    """Swagger UI from the files bundled with django-ninja (the same page as ninja's own ``ninja/swagger.html``)."""

    page = """<!DOCTYPE html>
<html lang="zh-hans">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}swagger-ui.css">
<link rel="icon" href="{assets}favicon.svg" type="image/svg+xml">
</head>
<body data-csrf-token="{csrf}" data-api-csrf="true">
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}swagger-ui-init.js"></script>
</body>
</html>
"""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {"layout": "BaseLayout", "deepLinking": True, "url": self.get_openapi_url(api, kwargs)}
        assets = reverse(f"{api.urls_namespace}:docs_asset", kwargs={"name": "x"})[:-1]
        html = self.page.format(
            title=escape(api.title),
            assets=escape(assets),
            csrf=escape(get_token(request)),
            # Inside <script>: keep "</" from closing the element.
            settings=json.dumps(settings).replace("</", "<\\/"),
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")


api = NinjaAPI(
    title="gongzhi 共治 API",
    version="1",
    description="社区教育与基层治理平台的接口。认证：`Authorization: Bearer <令牌>`，或浏览器会话（写操作需 CSRF）。"
    '所有错误的形状相同：`{"error": {"code", "message", "fields"}}`。列表分页：`?page=`，每页 50 条。',
    urls_namespace=NAMESPACE,
    auth=AUTH,
    docs=LocalSwagger(),
    renderer=JSONRenderer(),
)


# --- one error shape --------------------------------------------------------------------------------------------


def error_response(
    request: HttpRequest, *, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return api.create_response(request, body, status=status)


# Messages (Chinese source, translated per request) for the pydantic error types a client meets most.
PYDANTIC_MESSAGES = {
    "missing": gettext_lazy("必填"),
    "string_too_long": gettext_lazy("太长"),
    "string_too_short": gettext_lazy("不能为空"),
    "string_pattern_mismatch": gettext_lazy("格式不正确"),
    "string_type": gettext_lazy("应为文本"),
    "enum": gettext_lazy("不是可选的值"),
    "literal_error": gettext_lazy("不是可选的值"),
    "int_parsing": gettext_lazy("应为整数"),
    "int_type": gettext_lazy("应为整数"),
    "greater_than_equal": gettext_lazy("太小"),
    "less_than_equal": gettext_lazy("太大"),
    "date_parsing": gettext_lazy("日期格式应为 YYYY-MM-DD"),
    "date_from_datetime_parsing": gettext_lazy("日期格式应为 YYYY-MM-DD"),
    "date_type": gettext_lazy("日期格式应为 YYYY-MM-DD"),
    "uuid_parsing": gettext_lazy("格式不正确"),
    "uuid_type": gettext_lazy("格式不正确"),
    "bool_parsing": gettext_lazy("应为 true 或 false"),
    "json_invalid": gettext_lazy("JSON 格式不正确"),
    "model_attributes_type": gettext_lazy("应为 JSON 对象"),
    "dict_type": gettext_lazy("应为 JSON 对象"),
}


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """ninja's error list → ``{field: [messages]}``. A location is (source, [body parameter,] field, ...): the field
    name is what the client sent, without the source ("body", "query", "path") or ninja's parameter name."""
    fields: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[2:]
        elif loc and loc[0] in {"query", "path", "header", "cookie", "form", "file"}:
            loc = loc[1:]
        if loc and loc[0] in {"filters", "ninja_pagination"}:
            loc = loc[1:]
        name = ".".join(loc) or "__all__"
        kind = str(err.get("type", ""))
        if kind == "value_error" and "ctx" in err and "error" in err["ctx"]:
            message = str(err["ctx"]["error"])
        else:
            known = PYDANTIC_MESSAGES.get(kind)
            message = str(known) if known is not None else str(err.get("msg", _("无效")))
        fields.setdefault(name, []).append(message)
    return fields


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(
        request, status=422, code="invalid", message=_("提交的数据有误"), fields=validation_fields(exc.errors)
    )


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, status=401, code="unauthenticated", message=_("请先登录"))


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, status=exc.status, code=exc.code, message=exc.message, fields=exc.fields)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, status=404, code="not_found", message=_("找不到该资源"))


@api.exception_handler(DjangoPermissionDenied)
def on_permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
    return error_response(request, status=403, code="permission_denied", message=_("您无权执行此操作"))


HTTP_ERROR_CODES = {
    400: ("bad_request", gettext_lazy("请求有误")),
    401: ("unauthenticated", gettext_lazy("请先登录")),
    403: ("permission_denied", gettext_lazy("您无权执行此操作")),
    404: ("not_found", gettext_lazy("找不到该资源")),
    429: ("rate_limited", gettext_lazy("请求太频繁，请稍后再试")),
}


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and exc.message.startswith("Cannot parse request body"):
        return error_response(
            request,
            status=400,
            code="invalid",
            message=_("提交的数据有误"),
            fields={"__all__": [_("请求体不是有效的 JSON")]},
        )
    if exc.status_code == 403 and "CSRF" in exc.message:
        return error_response(request, status=403, code="csrf_failed", message=_("CSRF 校验失败，请刷新页面后重试"))
    code, message = HTTP_ERROR_CODES.get(exc.status_code, ("error", exc.message))
    return error_response(request, status=exc.status_code, code=code, message=str(message))


@api.exception_handler(Exception)
def on_server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(request, status=500, code="server_error", message=_("服务器内部错误，请稍后再试"))


# --- routers ----------------------------------------------------------------------------------------------------

api.add_router("", places_router)
api.add_router("", people_router)
api.add_router("", organizations_router)
api.add_router("", activities_router)
api.add_router("", learning_router)
api.add_router("", deliberation_router)
api.add_router("", cultivation_router)
api.add_router("", resources_router)
api.add_router("", fulfilment_router)
api.add_router("", volunteering_router)
api.add_router("", testing_router)
api.add_router("", credentials_router)
api.add_router("", programmes_router)
api.add_router("", stars_router)
api.add_router("", measure_dashboard_router)
api.add_router("", measure_pipeline_router)
api.add_router("", measure_reports_router)
api.add_router("", measure_survey_router)
api.add_router("", measure_mechanism_router)

# Served last: the Swagger UI files, and a "not found" in the one error shape for any other path under /api/v1/.
tail = Router(auth=None)


@tail.get("/docs/assets/{name}", include_in_schema=False, url_name="docs_asset")
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in DOCS_ASSETS:
        raise Http404
    response = FileResponse((NINJA_STATIC / name).open("rb"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@tail.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
def unknown_path(request: HttpRequest, rest: str) -> None:
    raise Http404


api.add_router("", tail)
