"""The public pages (议事公开): readable without login, and no personal data in their HTML."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.activities.models import ActivityKind, AttendanceSource
from gongzhi.activities.services import activity_create, attendance_record
from gongzhi.deliberation.models import DecisionMethod, IssueStatus
from gongzhi.deliberation.services import decisions as ds
from gongzhi.deliberation.services import issues as iss
from gongzhi.people import services as people
from gongzhi.people.protection import mask_id_number, mask_name, mask_phone
from tests import factories
from tests.conftest import ID_A, ID_B

pytestmark = pytest.mark.django_db

PW = "Pub-2026-secret"
# Distinctive people: their names, phones and ID numbers must never reach a public page.
PEOPLE = [
    ("欧阳翠花", "13911112222", ID_A),
    ("司马长风", "13933334444", ID_B),
    ("诸葛晓梅", "13955556666", ""),
]


@pytest.fixture
def chain(tree):
    """A whole chain in COMM_A1 through the real services: raised → discussed (topic, sessions, comments, a hidden
    one, proposals) → a ballot with online and paper votes → a published decision → milestones, progress → closed with
    ratings. Plus an open issue, a rejected one and an issue of another community."""
    tree.comm_a1.name = "甲一社区"
    tree.comm_a1.save()
    staff = factories.staff("community_worker", tree.comm_a1)
    residents, users = [], []
    for name, phone, id_number in PEOPLE:
        r = factories.resident(tree.comm_a1, name=name, phone=phone, id_number=id_number)
        users.append(people.account_claim(phone=phone, password=PW))
        residents.append(r)
    a, b, c = users
    start = timezone.now() - datetime.timedelta(days=30)
    issue = iss.issue_raise(
        actor=a, community=tree.comm_a1, title="老旧小区加装电梯", description="三号楼老人上下楼难", category="estate",
        resident=residents[0], raised_on=start.date(),
    )  # fmt: skip
    iss.issue_transition(actor=staff, issue=issue, to_status=IssueStatus.DISCUSSING, on=start.date())
    meeting = activity_create(
        actor=staff,
        place=tree.comm_a1,
        kind=ActivityKind.DELIBERATION_MEETING,
        title="甲一社区居民议事会",
        starts_at=start + datetime.timedelta(days=3),
    )
    iss.issue_session_link(actor=staff, issue=issue, activity=meeting, purpose="议事会")
    for r in residents:
        attendance_record(actor=staff, activity=meeting, resident=r, source=AttendanceSource.PAPER)
    iss.comment_post(user=a, issue=issue, body="欧阳翠花说：我家住六楼")
    hidden = iss.comment_post(user=b, issue=issue, body="这条含有司马长风的电话13933334444")
    iss.comment_hide(actor=staff, comment=hidden, reason="含个人信息")
    p1 = iss.proposal_add(user=b, issue=issue, title="加装电梯方案甲")
    p2 = iss.proposal_add(user=a, issue=issue, title="暂缓加装方案乙")
    opens = start + datetime.timedelta(days=2)
    ballot = ds.ballot_open(
        actor=staff, issue=issue, title="是否加装电梯", proposals=[p1, p2], opens_at=opens,
        closes_at=opens + datetime.timedelta(days=5),
    )  # fmt: skip
    inside = opens + datetime.timedelta(hours=1)
    ds.vote_cast(user=a, ballot=ballot, proposal=p1, now=inside)
    ds.vote_cast(user=b, ballot=ballot, proposal=p2, now=inside)
    ds.paper_votes_enter(actor=staff, ballot=ballot, meeting=meeting, counts={p1: 2, p2: 1})
    ds.decision_publish(
        actor=staff, issue=issue, method=DecisionMethod.VOTE, text="同意加装电梯", body="甲一社区居民议事会",
        decided_on=(opens + datetime.timedelta(days=6)).date(), ballot=ballot,
    )  # fmt: skip
    ds.implementation_start(actor=staff, issue=issue, on=(opens + datetime.timedelta(days=7)).date())
    m = ds.milestone_add(
        actor=staff, issue=issue, title="施工队进场", responsible="物业公司", due_on=timezone.localdate()
    )
    ds.progress_post(actor=staff, issue=issue, body="电梯井开挖完成", milestone=m)
    ds.milestone_done(actor=staff, milestone=m, done_on=timezone.localdate())
    ds.issue_close(actor=staff, issue=issue, on=timezone.localdate())
    ds.satisfaction_rate(user=a, issue=issue, score=5)
    ds.satisfaction_rate(user=c, issue=issue, score=4)
    other = iss.issue_raise(actor=c, community=tree.comm_a1, title="楼道堆物清理", resident=residents[2])
    iss.comment_post(user=c, issue=other, body="诸葛晓梅：楼道太乱")
    rejected = iss.issue_raise(actor=staff, community=tree.comm_a1, title="广场舞音量")
    iss.issue_transition(actor=staff, issue=rejected, to_status=IssueStatus.REJECTED, reason="已由物业处理")
    elsewhere = factories.resident(tree.comm_b1, name="上官别处", phone="13977778888")
    iss.issue_raise(actor=None, community=tree.comm_b1, title="别的社区的议题", resident=elsewhere)
    return {"issue": issue, "other": other, "rejected": rejected, "hidden": hidden, "tree": tree}


def _pages(client, chain) -> dict[str, str]:
    tree = chain["tree"]
    urls = {
        "index": reverse("public_index"),
        "community": reverse("public_community", args=[tree.comm_a1.code]),
        "other_community": reverse("public_community", args=[tree.comm_b1.code]),
    }
    for key in ("issue", "other", "rejected"):
        urls[key] = reverse("public_issue", args=[tree.comm_a1.code, chain[key].ref])
    pages = {}
    for key, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, (key, url)
        pages[key] = response.content.decode()
    return pages


def test_anonymous_reads_the_whole_chain(client, chain):
    pages = _pages(client, chain)
    assert "甲一社区" in pages["index"]
    community = pages["community"]
    for slogan in ("民事民议", "民事民决", "民事民治", "已办结"):
        assert slogan in community
    assert "老旧小区加装电梯" in community and "楼道堆物清理" in community
    page = pages["issue"]
    assert "同意加装电梯" in page and "甲一社区居民议事会" in page  # decision text and body
    assert "加装电梯方案甲" in page and "暂缓加装方案乙" in page  # proposals by title
    assert "施工队进场" in page and "物业公司" in page and "电梯井开挖完成" in page
    assert "4.5" in page  # satisfaction average
    # The totals count the paper votes: 甲 1 online + 2 paper = 3, 乙 1 + 1 = 2; 3 paper votes in all.
    totals = re.search(r'<table class="table pub-totals">.*?</table>', page, re.S).group(0)
    cells = re.findall(r'<td class="num">(?:<b>)?(\d+)', totals)
    assert cells == ["1", "2", "3", "1", "1", "2"]
    assert re.search(r'<tfoot>.*?<th class="num">2</th><th class="num">3</th><th class="num">5</th>', totals, re.S)
    assert "出席 3 人" in page  # the meeting's present count
    assert "居民" in page


def test_no_personal_data_on_any_public_page(client, chain):
    pages = _pages(client, chain)
    forbidden = ["上官别处", mask_name("上官别处"), "13977778888", mask_phone("13977778888")]
    for name, phone, id_number in PEOPLE:
        forbidden += [name, mask_name(name), phone, mask_phone(phone)]
        if id_number:
            forbidden += [id_number, mask_id_number(id_number), id_number[-8:]]
    for key, html in pages.items():
        for needle in forbidden:
            assert needle not in html, (key, needle)
        # Masked IDs look like 3301**********123X; masked phones like 139****2222.
        assert not re.search(r"\d{3,4}\*{4,}\d", html), key
        # Hidden comments never appear, nor does any comment body.
        assert "司马长风的电话" not in html and "我家住六楼" not in html and "楼道太乱" not in html
        assert "含个人信息" not in html  # the hiding reason


def test_comment_counts_leave_out_hidden_comments(client, chain):
    page = client.get(reverse("public_issue", args=[chain["tree"].comm_a1.code, chain["issue"].ref])).content.decode()
    assert re.search(r'class="pub-comments">\s*1 条', page)


def test_community_without_issues_shows_an_empty_state_and_unknown_places_404(client, tree):
    response = client.get(reverse("public_community", args=[tree.comm_a2.code]))
    assert response.status_code == 200
    assert "本社区还没有公开的议题" in response.content.decode()
    assert client.get(reverse("public_community", args=["330102001999"])).status_code == 404
    assert client.get(reverse("public_community", args=[tree.street_a.code])).status_code == 404  # not a community
    assert client.get(reverse("public_issue", args=[tree.comm_a2.code, "NOPE"])).status_code == 404
    assert "还没有公开的议题" in client.get(reverse("public_index")).content.decode()


def test_an_issue_is_only_shown_under_its_own_community(client, chain):
    tree = chain["tree"]
    url = reverse("public_issue", args=[tree.comm_a2.code, chain["issue"].ref])
    assert client.get(url).status_code == 404


def test_footer_links_to_the_public_pages(client, tree):
    assert reverse("public_index") in client.get(reverse("public_index")).content.decode()


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _more(chain, n: int) -> None:
    tree = chain["tree"]
    staff = factories.staff("community_worker", tree.comm_a1)
    for i in range(n):
        extra = iss.issue_raise(actor=staff, community=tree.comm_a1, title=f"议题{i}")
        iss.issue_transition(actor=staff, issue=extra, to_status=IssueStatus.DISCUSSING)
        iss.comment_post(user=staff, issue=extra, body="工作人员回复")
        iss.issue_raise(actor=staff, community=tree.comm_b1, title=f"乙议题{i}")


def test_query_counts_do_not_grow_with_rows(client, chain):
    tree = chain["tree"]
    urls = [
        reverse("public_index"),
        reverse("public_community", args=[tree.comm_a1.code]),
        reverse("public_issue", args=[tree.comm_a1.code, chain["issue"].ref]),
    ]
    before = [_count(client, u) for u in urls]
    _more(chain, 6)
    # More sessions, proposals and milestones on the issue itself.
    issue = chain["issue"]
    meeting = activity_create(
        actor=None, place=tree.comm_a1, kind=ActivityKind.DELIBERATION_MEETING, title="第二次议事会",
        starts_at=timezone.now(),
    )  # fmt: skip
    from gongzhi.deliberation.models import IssueSession, Milestone

    IssueSession.objects.create(issue=issue, activity=meeting, purpose="复盘")
    Milestone.objects.create(issue=issue, title="验收", responsible="街道", due_on=timezone.localdate())
    after = [_count(client, u) for u in urls]
    assert before == after
