"""The credentials demo: built on the seeded demo through the services, idempotent, with something for every page —
the parent-licence programme with holders at several levels, the demo logins where the brief puts them, one revoked
certificate, and the published 好婆婆 star ratings of 2025."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from gongzhi.activities.models import Attendance
from gongzhi.interchange.demo import HAOPOPO_REF, JIUBAO
from gongzhi.interchange.demo_credentials import (
    PROGRAMME_NAME,
    REVOKE_REASON,
    STANDARD_NAME,
    TEST_TITLES,
    demo_credentials_ensure,
)
from gongzhi.learning.credentials.selectors import level_eligibility
from gongzhi.learning.models import (
    Certificate,
    CredentialProgramme,
    OnlineTest,
    OnlineTestAttempt,
    PointsEntry,
    StarAssessment,
    StarRating,
    StarStandard,
)
from gongzhi.learning.stars import selectors as star_selectors
from gongzhi.people.models import Resident

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Certificate.objects.count(),
        OnlineTestAttempt.objects.count(),
        StarAssessment.objects.count(),
        StarRating.objects.count(),
        PointsEntry.objects.count(),
        Attendance.objects.count(),
    )


def test_demo_credentials_is_built_and_idempotent(tmp_path: Path, client):
    out = io.StringIO()
    call_command("seed_demo", "--residents", "300", "--dir", str(tmp_path / "demo"), "--no-progress", stdout=out)
    # seed_demo builds it (its summary line is printed) …
    text = out.getvalue()
    assert "学习认证：新增题库 2 个" in text and "测试 2 个" in text and "认证级别 5 个" in text, text
    assert "撤销 1" in text, text
    assert StarStandard.objects.filter(name=STANDARD_NAME, status="published").exists()

    # (a) the programme: five declared levels, open tests, holders at several levels
    programme = CredentialProgramme.objects.get(name=PROGRAMME_NAME)
    assert programme.status == "active" and programme.place_id == "330102000000"
    levels = {lv.rank: lv for lv in programme.levels.all()}
    assert [levels[r].name for r in range(1, 6)] == ["一星家长", "二星家长", "三星家长", "四星家长", "五星家长"]
    assert {leaf["kind"] for lv in levels.values() for leaf in _leaves(lv.criteria)} == {
        "sessions_attended",
        "tests_passed",
        "points",
        "courses_completed",
        "level_held",
    }
    tests = {t.title: t for t in OnlineTest.objects.filter(place_id=JIUBAO)}
    assert all(tests[title].status == "open" for title in TEST_TITLES.values())
    valid = Certificate.objects.filter(programme=programme, status="valid")
    assert len(set(valid.values_list("level__rank", flat=True))) >= 3
    assert all(c.credential_jwt.count(".") == 2 for c in valid)  # signed (compact JWS)
    revoked = Certificate.objects.get(programme=programme, status="revoked")
    assert revoked.revoke_reason == REVOKE_REASON
    assert valid.filter(claimed=False).count() == 1  # one issued by staff at the desk

    # the demo logins
    one = Resident.objects.get(phone="13900000011")
    assert list(Certificate.objects.filter(resident=one).values_list("level__rank", "status", "claimed")) == [
        (1, "valid", True)
    ]
    to_two = level_eligibility(resident=one, level=levels[2])
    assert not to_two.met and [leaf.label for leaf in to_two.leaves if not leaf.met] == ["通过测试 ≥ 2 个"]
    attempts = list(
        OnlineTestAttempt.objects.filter(resident=one).order_by("number").values_list("test__title", "passed")
    )
    assert attempts == [("科学育儿知识测试", False), ("科学育儿知识测试", True)]
    eligible = Resident.objects.get(phone="13900000012")
    assert not Certificate.objects.filter(resident=eligible).exists()
    assert level_eligibility(resident=eligible, level=levels[1]).met

    # (b) the 好婆婆 star ratings: published, every rating reviewed, the members see theirs
    standard = StarStandard.objects.get(name=STANDARD_NAME, year=2025)
    assert standard.status == "published" and standard.organization_ref == HAOPOPO_REF
    ratings = StarRating.objects.filter(standard=standard)
    assert ratings.exists() and set(ratings.values_list("status", flat=True)) == {"published"}
    assert ratings.exclude(review_note="").exists()
    assert {a.criterion for a in StarAssessment.objects.filter(standard=standard)} == {"teacher", "peer"}
    [mine] = star_selectors.my_ratings(resident=one)
    assert mine.final_stars is not None and mine.breakdown["lines"][0]["code"] == "attendance"
    client.force_login(one.user)
    page = client.get(reverse("star_mine")).content.decode()
    assert STANDARD_NAME in page and "学习出勤" in page
    client.logout()
    public = client.get(reverse("star_public", args=[standard.pk]))
    assert public.status_code == 200 and one.name not in public.content.decode()

    # … and running it again adds nothing.
    counts = _counts()
    again = demo_credentials_ensure()
    assert again.notes == [], again.notes
    assert (again.banks, again.questions, again.tests, again.attempts, again.levels) == (0, 0, 0, 0, 0)
    assert (again.certificates, again.revoked, again.assessments, again.changed_reviews) == (0, 0, 0, 0)
    assert not again.standard_created and not again.published
    assert _counts() == counts


def _leaves(node):
    if "all" in node or "any" in node:
        for child in node.get("all", node.get("any", [])):
            yield from _leaves(child)
    else:
        yield node
