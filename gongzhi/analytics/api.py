"""The 析 measure API (django-ninja), mounted under /api/v1/ by config.api."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["analytics"])
