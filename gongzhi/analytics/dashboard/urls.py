"""治理成效 pages (staff): the current place's dashboard, any visible place's, and a community's network."""

from __future__ import annotations

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("staff/measure/", views.dashboard_home, name="measure_dashboard"),
    re_path(r"^staff/measure/(?P<code>\d{12})/$", views.dashboard_place, name="measure_place"),
    re_path(r"^staff/measure/(?P<code>\d{12})/network/$", views.network_page, name="measure_network"),
]
