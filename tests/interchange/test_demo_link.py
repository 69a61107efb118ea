"""demo_link_ensure: the link demo built through the services — idempotent, and it creates what it says."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from django.utils import timezone

from gongzhi.activities.models import Activity, Attendance
from gongzhi.interchange.demo import BANK_LECTURE_REF, BANK_REF, DEMO_RESIDENT_PHONES, generate_demo
from gongzhi.interchange.demo_accounts import DEMO_PASSWORD, demo_accounts_ensure
from gongzhi.interchange.demo_link import (
    LOGIN_NEED_REF,
    PARTNER_LOGINS,
    REPORT_NEED_REF,
    SURVEY_TITLE,
    demo_link_ensure,
)
from gongzhi.interchange.importer import import_data
from gongzhi.people.models import User
from gongzhi.resources.models import (
    Booking,
    BookingSeries,
    LearningSpace,
    Need,
    NeedsSurvey,
    Pairing,
    PairingDelivery,
    Provider,
    Rating,
    Resource,
    SurveyResponse,
)

SIZE = 240


def state() -> dict[str, object]:
    return {
        "providers": sorted(Provider.objects.values_list("ref", "description", "contact_phone", "updated_at")),
        "areas": sorted(Resource.service_area.through.objects.values_list("resource__ref", "place_id")),
        "members": sorted(Provider.members.through.objects.values_list("provider__ref", "user__phone")),
        "pairings": sorted(Pairing.objects.values_list("provider__ref", "place_id", "starts_on", "ends_on")),
        "deliveries": PairingDelivery.objects.count(),
        "needs": sorted(Need.objects.values_list("ref", "status", "resource__ref", "fulfilled_on", "updated_at")),
        "links": Activity.needs.through.objects.count(),
        "uses": Activity.resources.through.objects.count(),
        "ratings": sorted(Rating.objects.values_list("need__ref", "resident__ref", "score")),
        "spaces": sorted(LearningSpace.objects.values_list("place_id", "name")),
        "bookings": sorted(Booking.objects.values_list("space__name", "title", "starts_at", "status")),
        "series": BookingSeries.objects.count(),
        "responses": SurveyResponse.objects.count(),
        "activities": Activity.objects.count(),
        "users": User.objects.count(),
    }


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    generate_demo(folder, seed=11, residents=SIZE)
    import_data(folder)
    demo_accounts_ensure()
    return folder


@pytest.mark.django_db
def test_demo_link_runs_twice_without_duplicates(demo: Path) -> None:
    first = demo_link_ensure()
    assert not first.notes, first.notes
    after_first = state()

    second = demo_link_ensure()

    assert state() == after_first
    assert (second.pairings, second.deliveries, second.partner_accounts, second.needs_linked, second.ratings) == (
        0, 0, 0, 0, 0,
    )  # fmt: skip
    assert (second.spaces, second.bookings, second.series, second.activities) == (0, 0, 0, 0)
    assert (second.survey_answers, second.survey_needs, second.matches, second.reports) == (0, 0, 0, 0)
    assert [x.phone for x in second.logins] == [x.phone for x in first.logins] == [p[0] for p in PARTNER_LOGINS]
    # The in-app records do not fight the files: importing the demo again changes nothing.
    assert not import_data(demo).changed


@pytest.mark.django_db
def test_demo_link_creates_what_it_says(demo: Path) -> None:
    summary = demo_link_ensure()

    # Pairings with their delivery: the bank with 九堡街道 for 2025, the college with 采荷街道.
    assert summary.pairings == Pairing.objects.count() == 3
    bank = Pairing.objects.get(provider__ref=BANK_REF)
    assert (bank.place_id, bank.starts_on.isoformat(), bank.ends_on.isoformat()) == (  # type: ignore[union-attr]
        "330102011000", "2025-01-01", "2025-12-31",
    )  # fmt: skip
    deliveries = list(bank.deliveries.all())
    assert deliveries and all(d.pairing.starts_on <= d.delivered_on <= d.pairing.ends_on for d in deliveries)  # type: ignore[operator]
    assert {d.recorded_by.phone for d in deliveries} == {"13900000021"}  # type: ignore[union-attr]
    assert Pairing.objects.get(place_id="330102007000").deliveries.exists()
    assert summary.deliveries == PairingDelivery.objects.count()

    # Partner logins: linked to their provider, with the demo password.
    liaison = User.objects.get(phone="13900000021")
    assert liaison.check_password(DEMO_PASSWORD)
    assert liaison.providers.get().ref == BANK_REF  # type: ignore[attr-defined]
    assert [x.role for x in summary.logins] == ["resource_partner", "resource_partner"]

    # Service areas for matching.
    assert set(Resource.objects.get(ref=BANK_LECTURE_REF).service_area.values_list("code", flat=True)) == {
        "330102011000", "330102007000",
    }  # fmt: skip

    # Fulfilled needs are linked to the activity that met them; the ratings come from residents who were present.
    fulfilled = Need.objects.filter(status="fulfilled", resource__isnull=False)
    assert fulfilled.exists() and all(n.activities.exists() for n in fulfilled)
    assert summary.ratings == Rating.objects.count() > 0
    for rating in Rating.objects.select_related("need", "resource"):
        assert rating.resource == rating.need.resource
        assert Attendance.objects.filter(
            activity__needs=rating.need, resident=rating.resident, status="present"
        ).exists()
    scores = list(Rating.objects.values_list("score", flat=True))
    assert sum(scores) / len(scores) >= 3.8
    login_need = Need.objects.get(ref=LOGIN_NEED_REF)
    assert login_need.status == "fulfilled" and login_need.raised_by.phone == DEMO_RESIDENT_PHONES[0]  # type: ignore[union-attr]
    assert not login_need.ratings.exists()  # left for the login to rate
    assert Attendance.objects.filter(
        activity__needs=login_need, resident=login_need.raised_by, status="present"
    ).exists()
    report = Need.objects.get(ref=REPORT_NEED_REF)
    assert (report.status, report.direction, report.raised_by.phone) == ("open", "report", DEMO_RESIDENT_PHONES[-1])  # type: ignore[union-attr]

    # Learning spaces with bookings over the coming weeks: two weekly series, one-offs, one cancelled, no overlap.
    assert summary.spaces == LearningSpace.objects.count() == 5
    assert summary.series == BookingSeries.objects.count() == 2
    for series in BookingSeries.objects.all():
        assert series.bookings.count() >= 4
    assert Booking.objects.filter(status="cancelled").count() == 1
    now = timezone.now()
    assert Booking.objects.filter(starts_at__lt=now).count() == 0
    for space in LearningSpace.objects.all():
        active = list(space.bookings.filter(status="active").order_by("starts_at"))
        assert all(a.ends_at <= b.starts_at for a, b in itertools.pairwise(active))
    lectures = Activity.objects.filter(ref__startswith="DEMO-L-")
    assert summary.activities == lectures.count() >= 1
    for lecture in lectures:
        assert lecture.space is not None and lecture.booking is not None
        assert list(lecture.resources.values_list("ref", flat=True)) == [BANK_LECTURE_REF]

    # The needs survey: closed, about 40 answers from 九堡, its top topics turned into needs, one matched.
    survey = NeedsSurvey.objects.get(title=SURVEY_TITLE)
    assert survey.status == "closed"
    responses = SurveyResponse.objects.filter(survey=survey)
    assert summary.survey_answers == responses.count() >= 35
    assert all(code.startswith("330102011") for code in responses.values_list("community_id", flat=True))
    assert set(DEMO_RESIDENT_PHONES) <= set(responses.values_list("resident__phone", flat=True))
    made = Need.objects.filter(survey=survey)
    assert summary.survey_needs == made.count() >= 2
    assert {n.direction for n in made} == {"survey"}
    assert summary.matches == made.filter(status="matched", resource__ref=BANK_LECTURE_REF).count() == 1
