"""Public pages (no login): per community, its issues by stage, each issue's chain from discussion to decision to
implementation, and nothing personal (see ``selectors.public``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from ..selectors import public as selectors


def public_index(request: HttpRequest) -> HttpResponse:
    return render(request, "deliberation/public/index.html", {"communities": selectors.public_communities()})


def public_community(request: HttpRequest, code: str) -> HttpResponse:
    community = selectors.public_community(code=code)
    groups, rejected = selectors.public_issue_groups(community=community)
    return render(
        request,
        "deliberation/public/community.html",
        {
            "community": community,
            "groups": groups,
            "rejected": rejected,
            "total": sum(len(g.issues) for g in groups) + len(rejected),
        },
    )


def public_issue(request: HttpRequest, code: str, ref: str) -> HttpResponse:
    community = selectors.public_community(code=code)
    data = selectors.public_issue(community=community, ref=ref)
    return render(request, "deliberation/public/issue.html", {"community": community, "d": data, "issue": data.issue})


urlpatterns: list[URLPattern] = [
    path("public/", public_index, name="public_index"),
    path("public/<str:code>/", public_community, name="public_community"),
    path("public/<str:code>/issues/<str:ref>/", public_issue, name="public_issue"),
]
