"""URLs of the measure report: the HTML report, its PDF, and the open-data files of a place and period."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("measure/reports/", views.report_index, name="measure_report_index"),
    path("measure/reports/<str:code>/<str:period>/", views.report_page, name="measure_report"),
    path("measure/reports/<str:code>/<str:period>/report.pdf", views.report_pdf, name="measure_report_pdf"),
    path("measure/opendata/<str:code>/<str:period>.csv", views.opendata_csv, name="measure_opendata_csv"),
    path("measure/opendata/<str:code>/<str:period>.xlsx", views.opendata_xlsx, name="measure_opendata_xlsx"),
]
