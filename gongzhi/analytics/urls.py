"""URLs of 析 measure: one module per part (dashboards, computations and settings, reports, survey, mechanism)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("gongzhi.analytics.dashboard.urls")),
    path("", include("gongzhi.analytics.pipeline.urls")),
    path("", include("gongzhi.analytics.reports.urls")),
    path("", include("gongzhi.analytics.survey.urls")),
    path("", include("gongzhi.analytics.mechanism.urls")),
]
