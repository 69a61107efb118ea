from django.urls import path

from . import views
from .credentials import views as credentials_views
from .stars import views as stars_views
from .testing import views as testing_views

urlpatterns = [
    path("staff/courses/", views.course_list, name="course_list"),
    path("staff/courses/new/", views.course_new, name="course_new"),
    path("staff/courses/<uuid:course_id>/", views.course_detail, name="course_detail"),
    path("staff/courses/<uuid:course_id>/edit/", views.course_edit, name="course_edit"),
    path("staff/series/", views.series_list, name="series_list"),
    path("staff/teachers/", views.teacher_list, name="teacher_list"),
    path("staff/points/rules/", views.points_rule_list, name="points_rule_list"),
    path("learn/", views.learn_home, name="learn_home"),
    path("learn/courses/<uuid:course_id>/enrol/", views.learn_enrol, name="learn_enrol"),
    path("learn/courses/<uuid:course_id>/cancel/", views.learn_cancel, name="learn_cancel"),
    path("learn/schedule/", views.my_schedule, name="my_schedule"),
    path("me/points/", views.my_points, name="my_points"),
    *testing_views.urlpatterns,
    *credentials_views.urlpatterns,
    *stars_views.urlpatterns,
]
