"""Navigation entries of 析 measure (see gongzhi.web.context_processors): only pages that exist and the user may use."""

from __future__ import annotations

from typing import Any


def nav_items(request: Any, user: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    return items
