"""Shared pieces of the HTTP API: the one error shape, pagination sizes, the request type endpoints see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CODE_PATTERN = r"^\d{12}$"


class ApiRequest(HttpRequest):
    """A request as an endpoint sees it: ``auth`` is the authenticated user (token or session)."""

    auth: Any


# --- the one error shape ----------------------------------------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(..., description="机器可读的错误代码，如 invalid、unauthenticated、not_found、permission_denied")
    message: str = Field(..., description="给人看的说明（按请求的语言：中文或英文）")
    fields: dict[str, list[str]] = Field(..., description="字段名 → 该字段的错误说明")


class ErrorOut(Schema):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int, Any]:
    """Response declarations for error statuses, e.g. ``{200: X, **errors(401, 404)}``."""
    return {status: ErrorOut for status in statuses}
