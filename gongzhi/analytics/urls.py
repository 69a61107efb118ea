"""URLs of 析 measure (pages); the API is in ``gongzhi.analytics.api``."""

from __future__ import annotations

urlpatterns: list = []
