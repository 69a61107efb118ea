from django.urls import path

from . import views
from .cultivation import views as cultivation_views

urlpatterns = [
    path("staff/organizations/", views.organization_list, name="organization_list"),
    path("staff/organizations/new/", views.organization_new, name="organization_new"),
    path("staff/organizations/<uuid:organization_id>/", views.organization_detail, name="organization_detail"),
    path("staff/organizations/<uuid:organization_id>/review/", views.organization_review, name="organization_review"),
    path("staff/organizations/<uuid:organization_id>/stage/", views.organization_stage, name="organization_stage"),
    path(
        "staff/organizations/<uuid:organization_id>/dissolve/",
        views.organization_dissolve,
        name="organization_dissolve",
    ),
    path(
        "staff/organizations/<uuid:organization_id>/members/add/",
        views.organization_member_add,
        name="organization_member_add",
    ),
    path(
        "staff/organizations/<uuid:organization_id>/members/<uuid:membership_id>/role/",
        views.organization_member_role,
        name="organization_member_role",
    ),
    path(
        "staff/organizations/<uuid:organization_id>/members/<uuid:membership_id>/remove/",
        views.organization_member_remove,
        name="organization_member_remove",
    ),
    path(
        "staff/organizations/<uuid:organization_id>/meetings/",
        views.organization_meeting_new,
        name="organization_meeting_new",
    ),
    path("me/communities/", views.my_communities, name="my_communities"),
    path("me/communities/propose/", views.community_propose, name="community_propose"),
    path("me/communities/<uuid:organization_id>/join/", views.community_join, name="community_join"),
    path("me/communities/<uuid:organization_id>/leave/", views.community_leave, name="community_leave"),
    *cultivation_views.urlpatterns,
]
