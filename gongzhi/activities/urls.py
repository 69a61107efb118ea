from django.urls import path

from . import views
from .fulfilment import views as fulfilment_views
from .volunteering import views as volunteering_views

urlpatterns = [
    path("staff/activities/", views.activity_list, name="activity_list"),
    path("staff/activities/new/", views.activity_new, name="activity_new"),
    path("staff/activities/<uuid:activity_id>/", views.activity_detail, name="activity_detail"),
    path("staff/activities/<uuid:activity_id>/qr/", views.activity_qr, name="activity_qr"),
    path("staff/activities/<uuid:activity_id>/qr/frame/", views.activity_qr_frame, name="activity_qr_frame"),
    path("staff/activities/<uuid:activity_id>/roster/", views.activity_roster, name="activity_roster"),
    path(
        "staff/activities/<uuid:activity_id>/roster/<uuid:resident_id>/",
        views.roster_mark,
        name="activity_roster_mark",
    ),
    path("staff/activities/<uuid:activity_id>/paper/", views.activity_paper, name="activity_paper"),
    path(
        "staff/activities/<uuid:activity_id>/paper/template.xlsx", views.paper_template, name="activity_paper_template"
    ),
    path("checkin/<str:token>/", views.checkin, name="checkin"),
    path("me/activities/", views.my_activities, name="my_activities"),
    path("staff/network/resources/", views.resource_network, name="resource_network"),
    *fulfilment_views.urlpatterns,
    *volunteering_views.urlpatterns,
]
