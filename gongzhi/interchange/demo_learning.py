"""The learning side of the demo, created through the learning services after the demo files are imported.

The interchange files carry organisations, activities and attendance, but not courses, series or teachers (METHOD.md
has no file for them). This step turns the imported ``course_session`` activities into courses: grouped by title, one
course per title (an earlier year's edition, ``婴幼儿科学喂养（2024年）``, is a course of its own, closed), with the 好婆婆
classroom's four series and their teachers. It also gives the demo teacher login a
teacher profile, enrols the demo resident logins and awards them some points for attendance they have, and creates a
few upcoming sessions around today's real date so that the QR check-in can be tried at once.

Everything is idempotent: running it again finds what exists and creates nothing twice.
"""

from __future__ import annotations

import contextlib
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from gongzhi.activities.models import Activity, ActivityKind, ActivityMode, Attendance, AttendanceStatus
from gongzhi.activities.services import activity_create
from gongzhi.core.errors import DomainError
from gongzhi.learning import services as learning
from gongzhi.learning.models import Course, CourseStatus, Enrolment, EnrolmentStatus, Series, Teacher
from gongzhi.organizations.models import Organization
from gongzhi.organizations.services import membership_join
from gongzhi.people.models import Resident, User
from gongzhi.places import codes
from gongzhi.places.models import Place

from .demo import (
    DEMO_COURSES,
    DEMO_RESIDENT_PHONES,
    DEMO_TEACHER_NAME,
    HAOPOPO_REF,
    HAOPOPO_SERIES,
    JIUBAO,
    JIUBAO_COMMUNITY,
    catalogue_title,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEACHER_LOGIN_PHONE = "13900000005"
HAOPOPO_CAPACITY = 40
# The course whose sessions are upcoming (relative to the real date of seeding), taught by the demo teacher login.
UPCOMING_SERIES = "婆媳沟通"
UPCOMING_TITLE = "婆媳沟通工作坊"
UPCOMING_AUDIENCE = "婆婆和儿媳，欢迎一起来"
UPCOMING_VENUE = "九堡社区文化家园二楼多功能厅"
# (days from today, start hour, start minute, length in minutes). The first runs all day, so the QR screen works
# whenever the demo is shown.
UPCOMING_SESSIONS: tuple[tuple[int, int, int, int], ...] = ((0, 8, 0, 14 * 60), (3, 19, 0, 90), (7, 9, 30, 90))
# Points for the demo residents' own attendance (their first few, so that rerunning on another day awards nothing new).
POINTS_PER_KIND = {
    ActivityKind.COURSE_SESSION: ("attend_course_session", 3),
    ActivityKind.LEARNING_MEETING: ("attend_learning_meeting", 4),
}


@dataclass
class LearningSummary:
    series: int = 0
    teachers: int = 0
    courses: int = 0
    sessions_linked: int = 0
    upcoming: list[Activity] = field(default_factory=list)
    enrolments: int = 0
    points_entries: int = 0


def _course_place(places: set[str]) -> str:
    """One place for a course: the place of all its sessions, or else the street they share."""
    if len(places) == 1:
        return next(iter(places))
    streets = {p if codes.level_of(p) == "street" else codes.parent_code_of(p) for p in places}
    return sorted(s for s in streets if s)[0]


def _teacher(place: Place, name: str, expertise: str, user: User | None, summary: LearningSummary) -> Teacher:
    found = Teacher.objects.filter(place=place, name=name).order_by("created_at").first()
    if found is not None:
        return found
    summary.teachers += 1
    return learning.teacher_create(actor=None, place=place, name=name, expertise=expertise, user=user)


@transaction.atomic
def demo_learning_ensure(*, now: datetime.datetime | None = None) -> LearningSummary:
    """Courses, series and teachers for the imported demo sessions; the demo logins' learning; upcoming sessions."""
    now = now or timezone.now()
    summary = LearningSummary()
    courses_meta = {title: (street, series, teacher, expertise, audience) for street, series, title, teacher,
                    expertise, audience, _n in DEMO_COURSES}  # fmt: skip
    wanted_places = {JIUBAO, JIUBAO_COMMUNITY, *(meta[0] for meta in courses_meta.values())}
    places = {p.code: p for p in Place.objects.filter(code__in=wanted_places)}
    if JIUBAO not in places or JIUBAO_COMMUNITY not in places:
        raise LookupError("demo places missing (import the demo files first)")
    teacher_user = User.objects.filter(phone=TEACHER_LOGIN_PHONE).first()

    before = Series.objects.filter(place=places[JIUBAO]).count()
    series = {
        name: learning.series_create(actor=None, place=places[JIUBAO], name=name, description=description)
        for name, description in HAOPOPO_SERIES
    }
    summary.series = Series.objects.filter(place=places[JIUBAO]).count() - before

    # Imported course sessions not linked to a course yet, grouped by title.
    unlinked: dict[str, list[Activity]] = defaultdict(list)
    for activity in Activity.objects.filter(kind=ActivityKind.COURSE_SESSION, course_session__isnull=True).order_by(
        "starts_at", "ref"
    ):
        unlinked[activity.title].append(activity)
    for title, activities in sorted(unlinked.items()):
        meta = courses_meta.get(catalogue_title(title))
        current = catalogue_title(title) == title  # this year's edition (earlier editions are closed)
        place_code = meta[0] if meta else _course_place({a.place_id for a in activities})
        place = places.get(place_code) or Place.objects.get(code=place_code)
        teacher = None
        if meta:
            login = teacher_user if meta[2] == DEMO_TEACHER_NAME and place_code == JIUBAO else None
            teacher = _teacher(place, meta[2], meta[3], login, summary)
        course = Course.objects.filter(place=place, title=title).order_by("created_at").first()
        if course is None:
            classroom = bool(meta and meta[1])
            course = learning.course_create(
                actor=None,
                place=place,
                title=title,
                series=series.get(meta[1]) if meta and meta[1] else None,
                teachers=[teacher] if teacher else [],
                audience=meta[4] if meta else "",
                capacity=HAOPOPO_CAPACITY if classroom else None,
                status=CourseStatus.OPEN if classroom and current else CourseStatus.CLOSED,
            )
            summary.courses += 1
        for activity in activities:
            learning.course_session_attach(actor=None, course=course, activity=activity, teacher=teacher)
            summary.sessions_linked += 1

    # The demo teacher login teaches the upcoming workshop.
    demo_teacher = _teacher(places[JIUBAO], DEMO_TEACHER_NAME, "家庭关系咨询师", teacher_user, summary)
    if teacher_user is not None and not Teacher.objects.filter(user=teacher_user).exists():
        # The teacher existed before the login did: give the login a profile of its own.
        demo_teacher = learning.teacher_create(
            actor=None, place=places[JIUBAO], name=DEMO_TEACHER_NAME, expertise="家庭关系咨询师", user=teacher_user
        )
        summary.teachers += 1
    upcoming = Course.objects.filter(place=places[JIUBAO], title=UPCOMING_TITLE).order_by("created_at").first()
    if upcoming is None:
        upcoming = learning.course_create(
            actor=None,
            place=places[JIUBAO],
            title=UPCOMING_TITLE,
            series=series[UPCOMING_SERIES],
            teachers=[demo_teacher],
            audience=UPCOMING_AUDIENCE,
            capacity=30,
        )
        summary.courses += 1
    summary.upcoming = _upcoming_sessions(upcoming, places[JIUBAO_COMMUNITY], demo_teacher, now)

    # The demo resident logins: members of 好婆婆学堂, enrolled, with points for their first attendances.
    haopopo = Organization.objects.filter(ref=HAOPOPO_REF).first()
    for resident in Resident.objects.filter(phone__in=DEMO_RESIDENT_PHONES).order_by("ref"):
        if haopopo is not None and not haopopo.memberships.filter(resident=resident, left_on__isnull=True).exists():
            with contextlib.suppress(DomainError):
                membership_join(resident=resident, organization=haopopo)
        attended_courses = Course.objects.filter(
            sessions__activity__attendances__resident=resident,
            sessions__activity__attendances__status=AttendanceStatus.PRESENT,
            status=CourseStatus.OPEN,
        ).distinct()
        for course in [upcoming, *attended_courses.order_by("title")]:
            live = Enrolment.objects.filter(course=course, resident=resident).exclude(status=EnrolmentStatus.CANCELLED)
            if not live.exists():
                learning.enrolment_create(resident=resident, course=course)
                summary.enrolments += 1
        summary.points_entries += _award_demo_points(resident)
    return summary


def _upcoming_sessions(course: Course, place: Place, teacher: Teacher, now: datetime.datetime) -> list[Activity]:
    today = timezone.localtime(now, SHANGHAI).date()
    out: list[Activity] = []
    for number, (days, hour, minute, minutes) in enumerate(UPCOMING_SESSIONS, start=1):
        day = today + datetime.timedelta(days=days)
        ref = f"DEMO-{day:%Y%m%d}-{number}"
        activity = Activity.objects.filter(ref=ref).first()
        if activity is None:
            starts_at = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
            if days == 0:
                # Today's session runs from the hour the demo is seeded, so the QR check-in works whenever it is tried.
                local = timezone.localtime(now, SHANGHAI)
                starts_at = local.replace(minute=0, second=0, microsecond=0)
                minutes = 12 * 60
            activity = activity_create(
                actor=None,
                place=place,
                kind=ActivityKind.COURSE_SESSION,
                title=f"{course.title} 第{number}讲",
                starts_at=starts_at,
                ends_at=starts_at + datetime.timedelta(minutes=minutes),
                venue=UPCOMING_VENUE,
                capacity=course.capacity,
                mode=ActivityMode.LOCAL,
                ref=ref,
            )
        learning.course_session_attach(actor=None, course=course, activity=activity, teacher=teacher)
        out.append(activity)
    return out


def _award_demo_points(resident: Resident) -> int:
    """Points for the resident's first present attendances at courses and learning meetings (new entries made)."""
    made = 0
    for kind, (rule_code, count) in POINTS_PER_KIND.items():
        attendances = (
            Attendance.objects.filter(resident=resident, status=AttendanceStatus.PRESENT, activity__kind=kind)
            .select_related("activity")
            .order_by("activity__starts_at", "activity__ref")[:count]
        )
        for attendance in attendances:
            before = resident.points_entries.filter(source_type="attendance", source_id=str(attendance.pk)).exists()
            entry = learning.points_award(
                resident=resident,
                rule_code=rule_code,
                source_type="attendance",
                source_id=str(attendance.pk),
                reason=attendance.activity.title,
            )
            if entry is not None and not before:
                made += 1
    return made
