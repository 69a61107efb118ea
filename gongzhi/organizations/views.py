"""Pages of organisations: staff manage learning communities (and other groups), residents join and propose them.

Thin views: parse the input, check a permission, call one service or selector, render. Meetings are activities of the
activities app (an app above this one): only these views reach up to it, the services and selectors here do not.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors as _apply_errors
from gongzhi.core.pages import staff_place as _staff_place
from gongzhi.people import selectors as people_selectors
from gongzhi.places import selectors as place_selectors
from gongzhi.places.models import Place

from . import forms, selectors, services
from .models import MembershipRole, Organization, OrganizationKind, OrganizationStage, OrganizationStatus
from .rules import led_organization_ids, near_codes

DEFAULT_KIND = OrganizationKind.LEARNING_COMMUNITY


def _organization_or_404(request: HttpRequest, organization_id: Any) -> Organization:
    try:
        return selectors.organization_get(user=request.user, organization_id=organization_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _org_places(request: HttpRequest, place: Place) -> list[Place]:
    """Streets and communities under the current place on which the user may create organisations."""
    return [
        p
        for p in place_selectors.place_subtree(place=place).filter(level__in=["street", "community"])
        if request.user.has_perm("organizations.add_organization", p)
    ]


# --- staff ------------------------------------------------------------------------------------------------------


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    kind = request.GET.get("kind", DEFAULT_KIND)
    if kind not in OrganizationKind.values:
        kind = ""
    status = request.GET.get("status", "")
    if status not in OrganizationStatus.values:
        status = ""
    stage = request.GET.get("stage", "")
    if stage not in OrganizationStage.values:
        stage = ""
    q = request.GET.get("q", "")[:40]
    organizations = selectors.organizations_visible(
        user=request.user, place=place, kind=kind, status=status, search=q, stage=stage
    )
    page = Paginator(organizations, 50).get_page(request.GET.get("page"))
    proposals = list(
        selectors.organizations_visible(user=request.user, place=place, status=OrganizationStatus.PROPOSED)[:50]
    )
    return render(
        request,
        "organizations/organization_list.html",
        {
            "place": place,
            "page": page,
            "proposals": proposals,
            "kind": kind,
            "status": status,
            "stage": stage,
            "q": q,
            "kinds": OrganizationKind.choices,
            "statuses": OrganizationStatus.choices,
            "stages": OrganizationStage.choices,
            "can_create": bool(_org_places(request, place)),
        },
    )


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    places = _org_places(request, place)
    if not places:
        raise PermissionDenied
    form = forms.OrganizationForm(request.POST or None, places=places)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        target = next(p for p in places if p.code == data["place"])
        try:
            organization = services.organization_create(
                actor=request.user,
                place=target,
                kind=data["kind"],
                name=data["name"],
                theme=data["theme"],
                charter=data["charter"],
                founded_on=data["founded_on"],
                stage=data["stage"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已新建 %(name)s") % {"name": organization.name})
            return redirect("organization_detail", organization_id=organization.pk)
    return render(request, "organizations/organization_form.html", {"form": form, "place": place})


def _detail(request: HttpRequest, organization: Organization, status: int = 200, **bound: Any) -> HttpResponse:
    from gongzhi.activities.models import Activity, AttendanceStatus

    user = request.user
    can_manage = user.has_perm("organizations.change_organization", organization)
    can_members = user.has_perm("organizations.manage_membership", organization)
    can_meet = user.has_perm("organizations.record_meeting", organization)
    members = list(selectors.members_of(user=user, organization=organization)) if can_members else []
    q = request.GET.get("q", "")[:40].strip()
    candidates: list[Any] = []
    if can_manage and q and organization.status == OrganizationStatus.ACTIVE:
        current = {m.resident_id for m in members}
        candidates = [
            r
            for r in people_selectors.residents_visible(user=user, place=organization.place, search=q)[:20]
            if r.pk not in current
        ]
    meetings = list(
        Activity.objects.filter(organization=organization)
        .annotate(present=Count("attendances", filter=Q(attendances__status=AttendanceStatus.PRESENT)))
        .order_by("-starts_at")[:50]
    )
    from .cultivation.selectors import admission_criteria_for, admission_unmet

    admission_total = admission_criteria_for(place_code=organization.place_id).count()
    unmet = admission_unmet(organization=organization) if organization.stage == "grassroots" else []
    context = {
        "org": organization,
        "admission_total": admission_total,
        "admission_unmet": unmet,
        "can_cultivation": user.has_perm("organizations.view_cultivation", organization),
        "members": members,
        "history": list(selectors.stage_history(user=user, organization=organization)),
        "meetings": meetings,
        "can_manage": can_manage,
        "can_members": can_members,
        "can_meet": can_meet and organization.status == OrganizationStatus.ACTIVE,
        "q": q,
        "candidates": candidates,
        "roles": MembershipRole.choices,
        "review_form": bound.get("review_form") or forms.ReviewForm(),
        "stage_form": bound.get("stage_form") or forms.StageChangeForm(),
        "dissolve_form": bound.get("dissolve_form") or forms.DissolveForm(),
        "meeting_form": bound.get("meeting_form") or forms.MeetingForm(),
        "is_staff_view": bool(getattr(request, "place", None)),
    }
    return render(request, "organizations/organization_detail.html", context, status=status)


@login_required
def organization_detail(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _organization_or_404(request, organization_id)
    if not (
        request.user.has_perm("organizations.change_organization", organization)
        or request.user.has_perm("organizations.manage_membership", organization)
    ):
        # A resident near it sees the resident page instead.
        return redirect("my_communities")
    return _detail(request, organization)


def _manageable(request: HttpRequest, organization_id: Any, perm: str) -> Organization:
    organization = _organization_or_404(request, organization_id)
    if not request.user.has_perm(perm, organization):
        raise PermissionDenied
    return organization


@login_required
@require_POST
def organization_review(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _manageable(request, organization_id, "organizations.review_organization")
    form = forms.ReviewForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            services.organization_review(
                actor=request.user, organization=organization, approve=approve, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            messages.error(request, exc.message if not exc.fields else _("未通过时请填写理由"))
        else:
            if approve:
                messages.success(request, _("已通过：%(name)s 正式成立") % {"name": organization.name})
            else:
                messages.success(request, _("已退回：%(name)s") % {"name": organization.name})
    else:
        messages.error(request, _("审核意见不能超过 300 字"))
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("organization_detail", organization_id=organization.pk)


@login_required
@require_POST
def organization_stage(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _manageable(request, organization_id, "organizations.change_organization")
    form = forms.StageChangeForm(request.POST)
    if form.is_valid():
        try:
            services.organization_stage_change(actor=request.user, organization=organization, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已调整发展阶段"))
            return redirect("organization_detail", organization_id=organization.pk)
    return _detail(request, organization, status=400, stage_form=form)


@login_required
@require_POST
def organization_dissolve(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _manageable(request, organization_id, "organizations.change_organization")
    form = forms.DissolveForm(request.POST)
    if form.is_valid():
        try:
            services.organization_dissolve(actor=request.user, organization=organization, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已解散"))
            return redirect("organization_detail", organization_id=organization.pk)
    return _detail(request, organization, status=400, dissolve_form=form)


@login_required
@require_POST
def organization_member_add(request: HttpRequest, organization_id: Any) -> HttpResponse:
    organization = _manageable(request, organization_id, "organizations.change_organization")
    form = forms.MemberAddForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择要添加的居民"))
        return redirect("organization_detail", organization_id=organization.pk)
    try:
        resident = people_selectors.resident_get(user=request.user, resident_id=form.cleaned_data["resident"])
        services.membership_add(
            actor=request.user, organization=organization, resident=resident, role=form.cleaned_data["role"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已添加成员 %(name)s") % {"name": resident.masked_name})
    return redirect("organization_detail", organization_id=organization.pk)


@login_required
@require_POST
def organization_member_role(request: HttpRequest, organization_id: Any, membership_id: Any) -> HttpResponse:
    organization = _manageable(request, organization_id, "organizations.manage_membership")
    try:
        membership = selectors.membership_get(user=request.user, organization=organization, membership_id=membership_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        services.membership_set_role(actor=request.user, membership=membership, role=request.POST.get("role", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已修改角色"))
    return redirect("organization_detail", organization_id=organization.pk)


@login_required
@require_POST
def organization_member_remove(request: HttpRequest, organization_id: Any, membership_id: Any) -> HttpResponse:
    organization = _manageable(request, organization_id, "organizations.manage_membership")
    try:
        membership = selectors.membership_get(user=request.user, organization=organization, membership_id=membership_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    services.membership_leave(resident=membership.resident, organization=organization, actor=request.user)
    messages.success(request, _("已将 %(name)s 移出") % {"name": membership.resident.masked_name})
    return redirect("organization_detail", organization_id=organization.pk)


@login_required
@require_POST
def organization_meeting_new(request: HttpRequest, organization_id: Any) -> HttpResponse:
    from gongzhi.activities import services as activity_services
    from gongzhi.activities.models import ActivityKind

    organization = _manageable(request, organization_id, "organizations.record_meeting")
    if organization.status != OrganizationStatus.ACTIVE:
        raise PermissionDenied
    form = forms.MeetingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        kind = (
            ActivityKind.LEARNING_MEETING
            if organization.kind == OrganizationKind.LEARNING_COMMUNITY
            else ActivityKind.ORG_EVENT
        )
        try:
            activity_services.activity_create(
                actor=request.user,
                place=organization.place,
                kind=kind,
                title=data["title"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                venue=data["venue"],
                description=data["description"],
                organization=organization,
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已记录活动：%(title)s") % {"title": data["title"]})
            return redirect("organization_detail", organization_id=organization.pk)
    return _detail(request, organization, status=400, meeting_form=form)


# --- residents on their phones ----------------------------------------------------------------------------------


def _resident_or_404(request: HttpRequest) -> Any:
    resident = people_selectors.resident_of_user(user=request.user)
    if resident is None:
        raise Http404(_("您还没有居民档案"))
    return resident


@login_required
def my_communities(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    kind = request.GET.get("kind", DEFAULT_KIND)
    if kind not in OrganizationKind.values:
        kind = ""
    near = list(selectors.organizations_near(user=request.user, kind=kind))
    mine = list(selectors.memberships_of(user=request.user))
    led = led_organization_ids(request.user)
    warnings = []
    if led:
        from .cultivation.selectors import warnings_to_answer

        warnings = list(warnings_to_answer(user=request.user))
    return render(
        request,
        "organizations/my_communities.html",
        {
            "resident": resident,
            "near": [o for o in near if not getattr(o, "is_member", False)],
            "mine": mine,
            "proposals": list(selectors.proposals_of(user=request.user)),
            "led": led,
            "warnings": warnings,
            "kind": kind,
            "kinds": OrganizationKind.choices,
        },
    )


@login_required
@require_POST
def community_join(request: HttpRequest, organization_id: Any) -> HttpResponse:
    resident = _resident_or_404(request)
    organization = _organization_or_404(request, organization_id)
    if not request.user.has_perm("organizations.join_organization", organization):
        raise Http404
    try:
        __, created = services.membership_join(resident=resident, organization=organization)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, _("已加入 %(name)s") % {"name": organization.name})
        else:
            messages.info(request, _("您已经是 %(name)s 的成员") % {"name": organization.name})
    return redirect("my_communities")


@login_required
@require_POST
def community_leave(request: HttpRequest, organization_id: Any) -> HttpResponse:
    resident = _resident_or_404(request)
    membership = selectors.memberships_of(user=request.user).filter(organization_id=organization_id).first()
    if membership is not None:
        services.membership_leave(resident=resident, organization=membership.organization)
        messages.success(request, _("已退出 %(name)s") % {"name": membership.organization.name})
    return redirect("my_communities")


@login_required
def community_propose(request: HttpRequest) -> HttpResponse:
    resident = _resident_or_404(request)
    places = list(Place.objects.filter(code__in=near_codes(resident.community_id)).order_by("-code"))
    form = forms.ProposalForm(request.POST or None, places=places, initial={"place": resident.community_id})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = next(p for p in places if p.code == data["place"])
        try:
            services.organization_propose(
                resident=resident, place=place, name=data["name"], theme=data["theme"], charter=data["charter"]
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已提交申请，工作人员审核通过后您将成为负责人"))
            return redirect("my_communities")
    return render(request, "organizations/propose.html", {"form": form, "resident": resident})
