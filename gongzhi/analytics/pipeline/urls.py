"""Pages of the 析 measure pipeline: 测评设置 (settings) and 指标计算 (computations)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("staff/measure/settings/", views.settings_page, name="measure_settings"),
    path("staff/measure/computations/", views.computations_page, name="measure_computations"),
    path("staff/measure/computations/table/", views.computations_table, name="measure_computations_table"),
]
