from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/code/", views.code_login, name="code_login"),
    path("accounts/claim/", views.account_claim, name="account_claim"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/place/", views.place_switch, name="place_switch"),
    path("staff/residents/", views.resident_list, name="resident_list"),
    path("staff/residents/new/", views.resident_new, name="resident_new"),
    path("staff/residents/<uuid:resident_id>/", views.resident_detail, name="resident_detail"),
    path("staff/residents/<uuid:resident_id>/edit/", views.resident_edit, name="resident_edit"),
    path("staff/residents/<uuid:resident_id>/reveal/", views.resident_reveal, name="resident_reveal"),
    path("staff/roles/", views.grant_list, name="grant_list"),
    path("staff/roles/<uuid:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("staff/audit/", views.audit_list, name="audit_list"),
    path("me/", views.resident_home, name="resident_home"),
    path("me/consent/", views.my_consent, name="my_consent"),
    path("me/export/", views.my_export, name="my_export"),
    path("me/erase/", views.my_erase, name="my_erase"),
    path("staff/residents/<uuid:resident_id>/erase/", views.resident_erase, name="resident_erase"),
]
