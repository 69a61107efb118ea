"""Pages of star ratings (星级评定): staff define and declare a yearly standard, score residents, compute the
proposals, review them and publish; residents see their stars on their phones ("我的星级") and score fellow members
where the standard has peer assessment; the published list of starred residents (masked names) needs no login."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors, staff_place
from gongzhi.organizations import selectors as org_selectors
from gongzhi.organizations.models import OrganizationStatus
from gongzhi.people.selectors import resident_of_user

from ..models import StarRatingStatus, StarStandard, StarStandardStatus
from . import compute, forms, selectors, services

RATINGS_PER_PAGE = 50
RESIDENTS_PER_PAGE = 30


def _message(exc: DomainError) -> str:
    if exc.fields:
        details = "；".join(m for ms in exc.fields.values() for m in ms)
        return f"{exc.message}：{details}" if details and details != exc.message else exc.message
    return exc.message


def _standard(request: HttpRequest, standard_id: Any, *, manage: bool = False) -> StarStandard:
    try:
        standard = selectors.standard_get(user=request.user, standard_id=standard_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if manage and not request.user.has_perm("learning.manage_starstandard", standard):
        raise PermissionDenied
    return standard


def present_lines(breakdown: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored breakdown lines with what the pages need: the source's short label and unit."""
    out = []
    for line in (breakdown or {}).get("lines", []):
        source = line.get("source", "")
        weight = compute.as_decimal(line.get("weight")) or Decimal(0)
        out.append(
            {
                **line,
                "source_label": str(compute.SOURCE_SHORT.get(source, source)),
                "unit": str(compute.UNITS.get(source, "")),
                "weight_percent": compute.plain(weight * 100),
                "full": compute.plain(weight * 100),
            }
        )
    return out


def marks(stars: int) -> list[bool]:
    """Five marks, the first ``stars`` of them on (★★★☆☆)."""
    return [n <= stars for n in range(1, compute.STARS + 1)]


def _criteria_rows(standard: StarStandard) -> list[compute.Criterion]:
    return compute.criteria_of(standard.criteria)


def _thresholds(standard: StarStandard) -> list[dict[str, Any]]:
    return [
        {"n": n, "label": compute.star_name(n), "value": compute.plain(t), "marks": marks(n)}
        for n, t in enumerate(compute.thresholds_of(standard.thresholds), start=1)
    ]


def _histogram(counts: list[int]) -> list[dict[str, Any]]:
    """Most stars first."""
    return [
        {"n": n, "label": compute.star_name(n), "count": counts[n], "marks": marks(n)}
        for n in range(compute.STARS, -1, -1)
    ]


# --- staff: standards -----------------------------------------------------------------------------------------------


@login_required
def star_standard_list(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    standards = list(selectors.standards_visible(user=request.user, place=place)[:200])
    return render(
        request,
        "learning/stars/standard_list.html",
        {
            "place": place,
            "standards": standards,
            "can_create": request.user.has_perm("learning.manage_starstandard", place)
            and place.level in ("street", "community"),
        },
    )


def _organizations(request: HttpRequest, place: Any) -> list[Any]:
    return list(
        org_selectors.organizations_visible(user=request.user, place=place, status=OrganizationStatus.ACTIVE)[:300]
    )


def _standard_form_page(
    request: HttpRequest, form: forms.StandardForm, place: Any, standard: StarStandard | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "learning/stars/standard_form.html",
        {"form": form, "place": place, "standard": standard, "sources": compute.SOURCES},
        status=status,
    )


@login_required
def star_standard_new(request: HttpRequest) -> HttpResponse:
    place = staff_place(request)
    if not request.user.has_perm("learning.manage_starstandard", place) or place.level not in ("street", "community"):
        raise PermissionDenied
    form = forms.StandardForm(request.POST or None, organizations=_organizations(request, place))
    if request.method == "POST" and form.is_valid():
        try:
            standard = services.star_standard_create(
                actor=request.user,
                place=place,
                year=form.cleaned_data["year"],
                name=form.cleaned_data["name"],
                organization_ref=form.cleaned_data["organization_ref"],
                criteria=form.criteria(),
                thresholds=form.thresholds(),
            )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存评定标准（草稿）：确认无误后发布标准，开始评定"))
            return redirect("star_standard_detail", standard_id=standard.pk)
    return _standard_form_page(request, form, place, None, status=400 if form.errors else 200)


@login_required
def star_standard_edit(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id, manage=True)
    if standard.status == StarStandardStatus.PUBLISHED:
        messages.info(request, _("评定结果已公布，标准不能再修改"))
        return redirect("star_standard_detail", standard_id=standard.pk)
    fixed = standard.status != StarStandardStatus.DRAFT
    form = forms.StandardForm(
        request.POST or None,
        organizations=_organizations(request, standard.place),
        standard_criteria=standard.criteria,
        standard_thresholds=standard.thresholds,
        fixed=fixed,
        initial={"name": standard.name, "year": standard.year, "organization_ref": standard.organization_ref},
    )
    if request.method == "POST" and form.is_valid():
        try:
            if fixed:
                services.star_standard_update(actor=request.user, standard=standard, name=form.cleaned_data["name"])
            else:
                services.star_standard_update(
                    actor=request.user,
                    standard=standard,
                    name=form.cleaned_data["name"],
                    year=form.cleaned_data["year"],
                    organization_ref=form.cleaned_data["organization_ref"],
                    criteria=form.criteria(),
                    thresholds=form.thresholds(),
                )
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存评定标准"))
            return redirect("star_standard_detail", standard_id=standard.pk)
    return _standard_form_page(request, form, standard.place, standard, status=400 if form.errors else 200)


@login_required
def star_standard_detail(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id)
    user = request.user
    can_manage = user.has_perm("learning.manage_starstandard", standard)
    status = request.GET.get("status", "")
    status = status if status in StarRatingStatus.values else ""
    search = request.GET.get("q", "")[:40].strip()
    ratings = selectors.ratings_ranked(user=user, standard=standard, status=status, search=search)
    page = Paginator(ratings, RATINGS_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for i, r in enumerate(page.object_list, start=page.start_index()):
        rows.append(
            {
                "rank": i,
                "rating": r,
                "lines": present_lines(r.breakdown),
                "proposed_marks": marks(r.proposed_stars),
                "final_marks": marks(r.final_stars) if r.final_stars is not None else None,
                "changed": r.final_stars is not None and r.final_stars != r.proposed_stars,
            }
        )
    assess_criteria = (
        selectors.assessable_criteria(user=user, standard=standard)
        if standard.status == StarStandardStatus.ACTIVE
        else []
    )
    query = {k: v for k, v in (("status", status), ("q", search)) if v}
    return render(
        request,
        "learning/stars/standard_detail.html",
        {
            "standard": standard,
            "organization": selectors.organization_of(standard),
            "criteria": _criteria_rows(standard),
            "thresholds": _thresholds(standard),
            "can_manage": can_manage,
            "can_assess": bool(assess_criteria),
            "page": page,
            "rows": rows,
            "status": status,
            "q": search,
            "query": urlencode(query),
            "histogram": _histogram(selectors.star_histogram(standard=standard))
            if can_manage or standard.status == StarStandardStatus.PUBLISHED
            else [],
            "assessment_counts": selectors.assessment_counts(standard=standard) if can_manage else {},
            "review_stars": [(n, compute.star_name(n)) for n in range(compute.STARS, -1, -1)],
            "rating_statuses": StarRatingStatus.choices,
        },
    )


def _back(standard: StarStandard, anchor: str = "") -> HttpResponse:
    return redirect(reverse("star_standard_detail", args=[standard.pk]) + anchor)


@login_required
@require_POST
def star_standard_activate(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id, manage=True)
    try:
        __, changed = services.star_standard_activate(actor=request.user, standard=standard)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        if changed:
            messages.success(request, _("标准已发布：指标不再修改，可以评分和计算星级"))
        else:
            messages.info(request, _("标准已经发布"))
    return _back(standard)


@login_required
@require_POST
def star_ratings_compute(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id, manage=True)
    try:
        result = services.star_ratings_compute(actor=request.user, standard=standard)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(
            request,
            _("已计算 %(total)d 人：新增 %(created)d，更新 %(updated)d，未变 %(unchanged)d，已审核保留 %(kept)d")
            % {
                "total": result.total,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "kept": result.kept_reviewed,
            },
        )
        if result.reviewed_differs:
            messages.info(
                request,
                _("有 %(n)d 条已审核的星级与最新数据算出的不同（审核结果保留，不会被覆盖）")
                % {"n": result.reviewed_differs},
            )
    return _back(standard, "#ratings")


@login_required
@require_POST
def star_ratings_approve_all(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id, manage=True)
    try:
        count = services.star_ratings_approve_all(actor=request.user, standard=standard)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("已按建议星级审核 %(n)d 条") % {"n": count})
    return _back(standard, "#ratings")


@login_required
@require_POST
def star_standard_publish(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id, manage=True)
    try:
        __, changed = services.star_standard_publish(actor=request.user, standard=standard)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        if changed:
            messages.success(request, _("已公布星级评定结果：居民可以在“我的星级”中查看"))
        else:
            messages.info(request, _("评定结果已经公布"))
    return _back(standard)


@login_required
@require_POST
def star_rating_review(request: HttpRequest, rating_id: Any) -> HttpResponse:
    try:
        rating = selectors.rating_get(user=request.user, rating_id=rating_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not request.user.has_perm("learning.review_starrating", rating):
        raise PermissionDenied
    form = forms.ReviewForm(request.POST)
    target = request.POST.get("next", "")
    back = target if target.startswith("/staff/stars/") else reverse("star_standard_detail", args=[rating.standard_id])
    if not form.is_valid():
        messages.error(request, _("请选择审定星级"))
        return redirect(back + f"#r-{rating.pk}")
    try:
        services.star_rating_review(
            actor=request.user, rating=rating, stars=form.cleaned_data["stars"], note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(
            request,
            _("已审核 %(who)s：%(stars)s")
            % {
                "who": rating.resident.masked_name or rating.resident.ref,
                "stars": compute.star_name(form.cleaned_data["stars"]),
            },
        )
    return redirect(back + f"#r-{rating.pk}")


# --- assessment (staff on the desk, peers on their phones) ----------------------------------------------------------


def _assess_page(request: HttpRequest, standard: StarStandard, *, as_peer: bool) -> HttpResponse:
    user = request.user
    if standard.status != StarStandardStatus.ACTIVE:
        if as_peer:
            raise Http404
        messages.info(request, _("只有评定中的标准可以评分"))
        return _back(standard)
    role = selectors.assessor_role(user=user, standard=standard)
    every = compute.criteria_of(standard.criteria)
    if as_peer:
        criteria = [c for c in every if c.peers_may_score] if role.peer_resident_id is not None else []
    else:
        criteria = [c for c in every if c.staff_may_score] if role.staff else []
    if not criteria:
        raise Http404(_("您没有可以评分的指标"))
    search = request.GET.get("q", "")[:40].strip()
    residents = selectors.assessable_residents(user=user, standard=standard, search=search, as_peer=as_peer)
    status = 200
    bound: tuple[Any, forms.AssessForm] | None = None
    if request.method == "POST":
        wanted = request.POST.get("resident", "")
        resident = residents.filter(pk=wanted).first() if _is_uuid(wanted) else None
        if resident is None:
            raise Http404(_("找不到该居民"))
        form = forms.AssessForm(request.POST, criteria=criteria, auto_id=_row_id(resident.pk))
        saved = 0
        if form.is_valid():
            try:
                saved = services.star_assessments_submit(
                    actor=user,
                    standard=standard,
                    resident=resident,
                    scores=form.scores(),
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                fields = {(f"s_{k}" if k == "score" else k): v for k, v in exc.fields.items()}
                apply_errors(form, DomainError(exc.message, fields=fields))
        if form.is_valid() and not form.errors:
            if not form.scores():
                messages.info(request, _("没有填写分数"))
            elif saved:
                messages.success(request, _("已保存对 %(who)s 的评分") % {"who": resident.masked_name or resident.ref})
            else:
                messages.info(request, _("评分没有变化"))
            here = request.path + (f"?{urlencode({'q': search})}" if search else "")
            return redirect(here + f"#p-{resident.pk}")
        status = 400
        bound = (resident.pk, form)
    page = Paginator(residents, RESIDENTS_PER_PAGE).get_page(request.GET.get("page"))
    people = list(page.object_list)
    mine = selectors.my_scores(user=user, standard=standard, resident_ids=[r.pk for r in people])
    reviewed = selectors.reviewed_resident_ids(standard=standard, resident_ids=[r.pk for r in people])
    rows = []
    for r in people:
        if bound is not None and bound[0] == r.pk:
            form = bound[1]
        else:
            initial: dict[str, Any] = {}
            for c in criteria:
                found = mine.get((r.pk, c.code))
                if found is not None:
                    initial[f"s_{c.code}"] = compute.plain(Decimal(found.score))
                    initial["comment"] = found.comment
            form = forms.AssessForm(criteria=criteria, initial=initial, auto_id=_row_id(r.pk))
        rows.append(
            {
                "resident": r,
                "form": form,
                "reviewed": r.pk in reviewed,
                "scored": any((r.pk, c.code) in mine for c in criteria),
            }
        )
    return render(
        request,
        "learning/stars/assess.html",
        {
            "standard": standard,
            "criteria": criteria,
            "rows": rows,
            "page": page,
            "q": search,
            "as_peer": as_peer,
            "organization": selectors.organization_of(standard),
        },
        status=status,
    )


def _row_id(pk: Any) -> str:
    return f"p{str(pk).replace('-', '')[:12]}_%s"


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except (ValueError, TypeError):
        return False
    return True


@login_required
def star_assess(request: HttpRequest, standard_id: Any) -> HttpResponse:
    standard = _standard(request, standard_id)
    return _assess_page(request, standard, as_peer=False)


# --- residents on their phones --------------------------------------------------------------------------------------


@login_required
def star_mine(request: HttpRequest) -> HttpResponse:
    resident = resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    ratings = []
    for r in selectors.my_ratings(resident=resident):
        stars = r.final_stars or 0
        ratings.append(
            {
                "rating": r,
                "stars": stars,
                "star_marks": marks(stars),
                "lines": present_lines(r.breakdown),
                "thresholds": _thresholds(r.standard),
                "changed": r.final_stars is not None and r.final_stars != r.proposed_stars,
            }
        )
    return render(
        request,
        "learning/stars/mine.html",
        {"ratings": ratings, "tasks": selectors.peer_tasks(user=request.user)},
    )


@login_required
def star_peer(request: HttpRequest, standard_id: Any) -> HttpResponse:
    try:
        standard = StarStandard.objects.select_related("place").get(pk=standard_id)
    except StarStandard.DoesNotExist as exc:
        raise Http404 from exc
    if not request.user.has_perm("learning.assess_starstandard", standard):
        raise Http404
    role = selectors.assessor_role(user=request.user, standard=standard)
    if role.peer_resident_id is None:
        raise Http404
    return _assess_page(request, standard, as_peer=True)


# --- the published list (no login) ----------------------------------------------------------------------------------


def star_public(request: HttpRequest, standard_id: Any) -> HttpResponse:
    try:
        standard, rows = selectors.public_standard(standard_id=standard_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request,
        "learning/stars/public.html",
        {
            "standard": standard,
            "organization": selectors.organization_of(standard),
            "groups": [
                (stars, compute.star_name(stars), marks(stars), members)
                for stars, members in selectors.group_by_stars(rows)
            ],
            "count": len(rows),
            "criteria": _criteria_rows(standard),
            "thresholds": _thresholds(standard),
        },
    )


urlpatterns: list[URLPattern] = [
    path("staff/stars/", star_standard_list, name="star_standard_list"),
    path("staff/stars/new/", star_standard_new, name="star_standard_new"),
    path("staff/stars/<uuid:standard_id>/", star_standard_detail, name="star_standard_detail"),
    path("staff/stars/<uuid:standard_id>/edit/", star_standard_edit, name="star_standard_edit"),
    path("staff/stars/<uuid:standard_id>/activate/", star_standard_activate, name="star_standard_activate"),
    path("staff/stars/<uuid:standard_id>/compute/", star_ratings_compute, name="star_ratings_compute"),
    path("staff/stars/<uuid:standard_id>/approve-all/", star_ratings_approve_all, name="star_ratings_approve_all"),
    path("staff/stars/<uuid:standard_id>/publish/", star_standard_publish, name="star_standard_publish"),
    path("staff/stars/<uuid:standard_id>/assess/", star_assess, name="star_assess"),
    path("staff/stars/ratings/<uuid:rating_id>/review/", star_rating_review, name="star_rating_review"),
    path("me/stars/", star_mine, name="star_mine"),
    path("me/stars/<uuid:standard_id>/peer/", star_peer, name="star_peer"),
    path("stars/<uuid:standard_id>/", star_public, name="star_public"),
]
