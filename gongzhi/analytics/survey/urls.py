"""URLs of the social-capital survey: staff pages under staff/measure/surveys/, residents' under me/social-surveys/."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("staff/measure/surveys/", views.social_survey_list, name="social_survey_list"),
    path("staff/measure/surveys/new/", views.social_survey_new, name="social_survey_new"),
    path("staff/measure/surveys/<uuid:survey_id>/", views.social_survey_detail, name="social_survey_detail"),
    path("staff/measure/surveys/<uuid:survey_id>/open/", views.social_survey_open, name="social_survey_open"),
    path("staff/measure/surveys/<uuid:survey_id>/close/", views.social_survey_close, name="social_survey_close"),
    path("me/social-surveys/", views.social_survey_mine, name="social_survey_mine"),
    path("me/social-surveys/<uuid:survey_id>/", views.social_survey_answer, name="social_survey_answer"),
]
