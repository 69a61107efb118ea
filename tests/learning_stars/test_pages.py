"""Star-rating pages: a standard written, declared, scored, computed, reviewed and published through the pages; bad
input in Chinese with nothing written; who may use which page; the resident's phone page and the public list;
constant query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.learning.models import StarAssessment, StarRating, StarStandard, StarStandardStatus
from gongzhi.learning.stars import services as stars
from gongzhi.organizations import services as organizations

from .conftest import ORG_REF, attend, make_standard, resident_with_account

pytestmark = pytest.mark.django_db

FORM = {
    "name": "好婆婆学堂星级学员评定",
    "year": "2025",
    "organization_ref": ORG_REF,
    "c0_code": "",  # left empty: the source becomes the code
    "c0_name": "出勤",
    "c0_source": "attendance",
    "c0_weight": "0.5",
    "c0_target": "10",
    "c1_code": "staff",
    "c1_name": "教师评议",
    "c1_source": "assessment",
    "c1_weight": "0.3",
    "c1_target": "100",
    "c1_by": "staff",
    "c2_code": "peer",
    "c2_name": "同伴互评",
    "c2_source": "assessment",
    "c2_weight": "0.2",
    "c2_target": "100",
    "c2_by": "peer",
    "t1": "20",
    "t2": "40",
    "t3": "60",
    "t4": "75",
    "t5": "90",
}


def test_staff_write_declare_score_compute_review_publish(client, world):
    w = world
    attend(w.a, 10, place=w.tree.comm_a1)
    attend(w.b, 4, place=w.tree.comm_a1)
    client.force_login(w.users["street_staff"])
    assert client.get(reverse("star_standard_list")).status_code == 200
    form = client.get(reverse("star_standard_new"))
    assert form.status_code == 200 and "好婆婆学堂（学习共同体" in form.content.decode()
    created = client.post(reverse("star_standard_new"), FORM)
    standard = StarStandard.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse("star_standard_detail", args=[standard.pk])
    assert standard.status == StarStandardStatus.DRAFT and standard.place_id == w.tree.street_a.code
    assert [c["code"] for c in standard.criteria] == ["attendance", "staff", "peer"]
    assert standard.criteria[2]["by"] == "peer" and "by" not in standard.criteria[0]
    page = client.get(reverse("star_standard_detail", args=[standard.pk])).content.decode()
    assert "发布标准，开始评定" in page and "好婆婆学堂的成员" in page
    client.post(reverse("star_standard_activate", args=[standard.pk]))
    standard.refresh_from_db()
    assert standard.status == StarStandardStatus.ACTIVE
    # staff score on the assessment page
    assess = client.get(reverse("star_assess", args=[standard.pk]))
    body = assess.content.decode()
    assert assess.status_code == 200 and "教师评议" in body and "同伴互评" not in body.split("assess-criteria")[1][:400]
    saved = client.post(reverse("star_assess", args=[standard.pk]), {"resident": str(w.a.pk), "s_staff": "90"})
    assert saved.status_code == 302
    assert StarAssessment.objects.get().score == 90
    # compute, review one, approve the rest, publish
    client.post(reverse("star_ratings_compute", args=[standard.pk]))
    assert StarRating.objects.filter(standard=standard).count() == 4
    a = StarRating.objects.get(standard=standard, resident=w.a)
    assert a.score == 77 and a.proposed_stars == 4  # 50 + 0.3 × 90
    detail = client.get(reverse("star_standard_detail", args=[standard.pk])).content.decode()
    assert "陈*华" in detail and "陈美华" not in detail and "得分明细" in detail
    assert detail.index("陈*华") < detail.index("刘*英")  # ranked by score
    bad = client.post(reverse("star_rating_review", args=[a.pk]), {"stars": "5", "note": ""}, follow=True)
    assert "审核意见：改动建议星级时须写明理由" in bad.content.decode()
    a.refresh_from_db()
    assert a.status == "proposed"
    client.post(reverse("star_rating_review", args=[a.pk]), {"stars": "5", "note": "热心带教新学员"})
    a.refresh_from_db()
    assert (a.final_stars, a.status, a.review_note) == (5, "approved", "热心带教新学员")
    refused = client.post(reverse("star_standard_publish", args=[standard.pk]), follow=True)
    assert "还有 3 条星级建议没有审核" in refused.content.decode()
    client.post(reverse("star_ratings_approve_all", args=[standard.pk]))
    client.post(reverse("star_standard_publish", args=[standard.pk]))
    standard.refresh_from_db()
    assert standard.status == StarStandardStatus.PUBLISHED
    published = client.get(reverse("star_standard_detail", args=[standard.pk])).content.decode()
    assert "评定结果" in published and reverse("star_public", args=[standard.pk]) in published
    assert "审核</button>" not in published


def test_bad_standard_input_is_shown_in_chinese_and_writes_nothing(client, world):
    client.force_login(world.users["street_staff"])
    bad = dict(FORM, c0_weight="0.4", t3="30", c2_by="")
    response = client.post(reverse("star_standard_new"), bad)
    assert response.status_code == 400
    body = response.content.decode()
    assert "评定指标：各项权重之和应为 1，当前为 0.9" in body
    assert "三星分数线：应高于二星分数线 40" in body
    assert not StarStandard.objects.exists()
    missing = client.post(reverse("star_standard_new"), dict(FORM, name="", year="abc"))
    assert missing.status_code == 400
    text = missing.content.decode()
    assert "名称：这个字段是必填项。" in text and "年度：" in text
    assert not StarStandard.objects.exists()


def test_declared_standard_edit_changes_only_the_name(client, world):
    standard = make_standard(world.tree.street_a)
    client.force_login(world.users["street_staff"])
    page = client.get(reverse("star_standard_edit", args=[standard.pk])).content.decode()
    assert "只能改名称" in page
    client.post(reverse("star_standard_edit", args=[standard.pk]), {"name": "改过的名称", "t1": "1"})
    standard.refresh_from_db()
    assert standard.name == "改过的名称" and standard.thresholds == [20, 40, 60, 75, 90]


@pytest.mark.parametrize(
    ("who", "detail", "manage"),
    [
        ("street_staff", 200, True),
        ("admin", 200, True),
        ("worker_a1", 200, False),  # sees the street's standard, scores its residents, does not manage it
        ("other_street", 404, False),
        ("teacher", 404, False),
        ("a", 404, False),
    ],
)
def test_who_may_open_the_staff_pages(client, world, who, detail, manage):
    standard = make_standard(world.tree.street_a)
    client.force_login(world.users[who])
    assert client.get(reverse("star_standard_detail", args=[standard.pk])).status_code == detail
    compute = client.post(reverse("star_ratings_compute", args=[standard.pk]))
    assert compute.status_code == (302 if manage else detail if detail == 404 else 403)
    assert StarRating.objects.exists() is manage


def test_community_worker_scores_only_their_residents(client, world):
    standard = make_standard(world.tree.street_a)
    client.force_login(world.users["worker_a2"])
    page = client.get(reverse("star_assess", args=[standard.pk])).content.decode()
    assert "赵*珍" in page and "陈*华" not in page  # d lives in COMM_A2, a in COMM_A1
    other = client.post(reverse("star_assess", args=[standard.pk]), {"resident": str(world.a.pk), "s_staff": "80"})
    assert other.status_code == 404
    assert not StarAssessment.objects.exists()
    bad = client.post(reverse("star_assess", args=[standard.pk]), {"resident": str(world.d.pk), "s_staff": "180"})
    assert bad.status_code == 400 and "教师评议：" in bad.content.decode()
    assert not StarAssessment.objects.exists()


def test_peers_score_fellow_members_on_their_phones(client, world):
    standard = make_standard(world.tree.street_a)
    client.force_login(world.users["b"])
    mine = client.get(reverse("star_mine")).content.decode()
    assert "同伴互评" in mine and reverse("star_peer", args=[standard.pk]) in mine
    page = client.get(reverse("star_peer", args=[standard.pk])).content.decode()
    assert "陈*华" in page and "刘*英" not in page  # not oneself
    assert "教师评议" not in page.split('id="assess-criteria"')[1].split("</ul>")[0]
    client.post(reverse("star_peer", args=[standard.pk]), {"resident": str(world.a.pk), "s_peer": "85"})
    assessment = StarAssessment.objects.get()
    assert (assessment.resident, assessment.criterion, assessment.score) == (world.a, "peer", 85)
    # a neighbour who is not a member has no peer page
    client.force_login(world.users["outsider"])
    assert client.get(reverse("star_peer", args=[standard.pk])).status_code == 404


def test_resident_sees_published_stars_with_what_counted(client, world):
    attend(world.a, 10, place=world.tree.comm_a1)
    standard = make_standard(world.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    client.force_login(world.users["a"])
    assert "还没有公布的星级" in client.get(reverse("star_mine")).content.decode()
    rating = StarRating.objects.get(standard=standard, resident=world.a)
    stars.star_rating_review(actor=None, rating=rating, stars=2, note="鼓励多参加志愿服务")
    stars.star_ratings_approve_all(actor=None, standard=standard)
    stars.star_standard_publish(actor=None, standard=standard)
    page = client.get(reverse("star_mine")).content.decode()
    assert "好婆婆学堂星级学员评定" in page and "2 星学员" in page and "加权得分 30.00" in page
    assert "按标准计算为 1 星，审核后调整：鼓励多参加志愿服务" in page
    assert "10 次" in page and "10 次得满分" in page and "尚无评分" in page


def test_public_list_shows_masked_names_only(client, world):
    attend(world.a, 10, place=world.tree.comm_a1)
    standard = make_standard(world.tree.street_a)
    assert client.get(reverse("star_public", args=[standard.pk])).status_code == 404  # not published
    stars.star_ratings_compute(actor=None, standard=standard)
    stars.star_ratings_approve_all(actor=None, standard=standard)
    stars.star_standard_publish(actor=None, standard=standard)
    page = client.get(reverse("star_public", args=[standard.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "陈*华" in body and "陈美华" not in body and world.a.phone not in body and world.a.ref not in body
    assert "刘*英" not in body  # no star, not listed
    assert "星级学员 1 人" in body


def test_detail_page_queries_do_not_grow(client, world):
    standard = make_standard(world.tree.street_a)
    stars.star_ratings_compute(actor=None, standard=standard)
    client.force_login(world.users["street_staff"])
    url = reverse("star_standard_detail", args=[standard.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(25):
        r, _u = resident_with_account(world.tree.comm_a1, f"学员{i:02d}号")
        organizations.membership_add(
            actor=None, organization=world.org, resident=r, joined_on=datetime.date(2024, 1, 1)
        )
    stars.star_ratings_compute(actor=None, standard=standard)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few), len(many)


def test_assess_page_queries_do_not_grow(client, world):
    standard = make_standard(world.tree.street_a)
    client.force_login(world.users["street_staff"])
    url = reverse("star_assess", args=[standard.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(12):
        r, _u = resident_with_account(world.tree.comm_a1, f"学员{i:02d}号")
        organizations.membership_add(
            actor=None, organization=world.org, resident=r, joined_on=datetime.date(2024, 1, 1)
        )
        stars.star_assessment_submit(
            actor=world.users["street_staff"], standard=standard, resident=r, criterion="staff", score=70
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few), len(many)
