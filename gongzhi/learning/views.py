"""Thin views of learning: staff pages (courses, series, teachers, points rules) and the resident's phone pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import apply_errors as _apply_errors
from gongzhi.people import access
from gongzhi.people.selectors import resident_of_user
from gongzhi.places.models import Place

from . import forms, selectors, services
from .models import Course, Teacher


def _staff_place(request: HttpRequest) -> Place:
    place = getattr(request, "place", None)
    if not place or not request.user.has_perm("learning.manage_course", place):
        raise PermissionDenied
    return place


def _course_or_404(request: HttpRequest, course_id: Any) -> Course:
    try:
        return selectors.course_get(user=request.user, course_id=course_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _picked(objs: Any, pk: str) -> Any:
    return next((o for o in objs if str(o.pk) == pk), None) if pk else None


# --- staff: courses ---------------------------------------------------------------------------------------------


@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    place = getattr(request, "place", None)
    user = request.user
    if place and user.has_perm("learning.manage_course", place):
        series = list(selectors.series_for_place(place=place))
        chosen = _picked(series, request.GET.get("series", ""))
        courses = selectors.courses_visible(user=user, place=place, series=chosen)
        can_create = place.level in ("street", "community")
    elif has_teacher_courses(user):
        series, chosen, can_create = [], None, False
        courses = selectors.courses_visible(user=user)
    else:
        raise PermissionDenied
    return render(
        request,
        "learning/course_list.html",
        {"place": place, "courses": courses, "series": series, "chosen": chosen, "can_create": can_create},
    )


def _course_form(request: HttpRequest, place: Place, course: Course | None = None) -> Any:
    series = list(selectors.series_for_place(place=place))
    teachers = list(selectors.teachers_visible(user=request.user, place=place))
    initial = {}
    if course is not None:
        initial = {
            "title": course.title,
            "series": str(course.series_id or ""),
            "teachers": [str(t.pk) for t in course.teachers.all()],
            "audience": course.audience,
            "capacity": course.capacity,
            "status": course.status,
            "description": course.description,
        }
    form = forms.CourseForm(request.POST or None, initial=initial, series=series, teachers=teachers)
    return form, series, teachers


@login_required
def course_new(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    form, series, teachers = _course_form(request, place)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            course = services.course_create(
                actor=request.user,
                place=place,
                title=data["title"],
                series=_picked(series, data["series"]),
                teachers=[t for t in teachers if str(t.pk) in data["teachers"]],
                audience=data["audience"],
                description=data["description"],
                capacity=data["capacity"],
                status=data["status"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已创建课程"))
            return redirect("course_detail", course_id=course.pk)
    return render(request, "learning/course_form.html", {"form": form, "place": place, "title": _("新建课程")})


@login_required
def course_edit(request: HttpRequest, course_id: Any) -> HttpResponse:
    _staff_place(request)
    course = _course_or_404(request, course_id)
    if not request.user.has_perm("learning.manage_course", course):
        raise PermissionDenied
    form, series, teachers = _course_form(request, course.place, course)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.course_update(
                actor=request.user,
                course=course,
                title=data["title"],
                series=_picked(series, data["series"]),
                teachers=[t for t in teachers if str(t.pk) in data["teachers"]],
                audience=data["audience"],
                description=data["description"],
                capacity=data["capacity"],
                status=data["status"],
            )
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("course_detail", course_id=course.pk)
    return render(
        request,
        "learning/course_form.html",
        {"form": form, "place": course.place, "title": _("修改课程"), "course": course},
    )


@login_required
def course_detail(request: HttpRequest, course_id: Any) -> HttpResponse:
    course = _course_or_404(request, course_id)
    user = request.user
    if not user.has_perm("learning.view_coursesession", course):
        raise Http404
    can_manage = user.has_perm("learning.manage_course", course)
    teachers = list(selectors.teachers_visible(user=user, place=course.place)) if can_manage else []
    form = forms.SessionForm(request.POST or None, teachers=teachers)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.course_session_add(
                    actor=user,
                    course=course,
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    venue=data["venue"],
                    teacher=_picked(teachers, data["teacher"]),
                    mode=data["mode"],
                    title=data["title"],
                )
            except DomainError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("已添加课次"))
                return redirect("course_detail", course_id=course.pk)
    enrolled, waiting = selectors.course_enrolments(course=course)
    return render(
        request,
        "learning/course_detail.html",
        {
            "course": course,
            "sessions": selectors.course_sessions(course=course),
            "enrolled": enrolled,
            "waiting": waiting,
            "form": form,
            "can_manage": can_manage,
        },
    )


# --- staff: series, teachers, rules -----------------------------------------------------------------------------


@login_required
def series_list(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    form = forms.SeriesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            series = services.series_create(actor=request.user, place=place, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已保存主题系列 %(name)s") % {"name": series.name})
            return redirect("series_list")
    rows = selectors.series_visible(user=request.user, place=place)
    return render(request, "learning/series_list.html", {"place": place, "rows": rows, "form": form})


@login_required
def teacher_list(request: HttpRequest) -> HttpResponse:
    place = _staff_place(request)
    form = forms.TeacherForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            teacher = services.teacher_create(actor=request.user, place=place, **form.cleaned_data)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("已添加师资 %(name)s") % {"name": teacher.name})
            return redirect("teacher_list")
    rows = selectors.teachers_visible(user=request.user, place=place)
    return render(request, "learning/teacher_list.html", {"place": place, "rows": rows, "form": form})


@login_required
def points_rule_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("learning.view_pointsrule"):
        raise PermissionDenied
    return render(request, "learning/points_rules.html", {"rows": selectors.points_rules(user=request.user)})


# --- residents on their phones ----------------------------------------------------------------------------------


def _resident(request: HttpRequest) -> Any:
    resident = resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    return resident


@login_required
def learn_home(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    found = selectors.near_me(resident=resident)
    return render(request, "learning/learn_home.html", {"resident": resident, "near": found})


def _resident_course(request: HttpRequest, resident: Any, course_id: Any) -> Course:
    course = Course.objects.filter(pk=course_id).select_related("place").first()
    if course is None or not (
        request.user.has_perm("learning.view_course", course) or course.enrolments.filter(resident=resident).exists()
    ):
        raise Http404
    return course


@login_required
@require_POST
def learn_enrol(request: HttpRequest, course_id: Any) -> HttpResponse:
    resident = _resident(request)
    course = _resident_course(request, resident, course_id)
    try:
        enrolment = services.enrolment_create(resident=resident, course=course)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if enrolment.status == "enrolled":
            messages.success(request, _("已报名《%(title)s》") % {"title": course.title})
        else:
            messages.info(request, _("名额已满，已加入候补"))
    return redirect("my_schedule" if request.POST.get("next") == "/learn/schedule/" else "learn_home")


@login_required
@require_POST
def learn_cancel(request: HttpRequest, course_id: Any) -> HttpResponse:
    resident = _resident(request)
    course = _resident_course(request, resident, course_id)
    if services.enrolment_cancel(resident=resident, course=course) is not None:
        messages.success(request, _("已取消报名"))
    return redirect("my_schedule" if request.POST.get("next") == "/learn/schedule/" else "learn_home")


@login_required
def my_schedule(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    return render(
        request,
        "learning/my_schedule.html",
        {
            "sessions": selectors.my_schedule(resident=resident),
            "enrolments": selectors.my_enrolments(resident=resident),
        },
    )


@login_required
def my_points(request: HttpRequest) -> HttpResponse:
    resident = _resident(request)
    balance, entries = selectors.my_points(resident=resident)
    return render(request, "learning/my_points.html", {"balance": balance, "entries": entries[:200]})


def has_teacher_courses(user: Any) -> bool:
    return any(g.role == "teacher" for g in access.user_grants(user)) and (Teacher.objects.filter(user=user).exists())
