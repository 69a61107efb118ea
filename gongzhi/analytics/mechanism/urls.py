from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("measure/mechanism/", views.mechanism_page, name="analytics_mechanism"),
    path("measure/mechanism/run/", views.mechanism_run, name="analytics_mechanism_run"),
]
