"""The deliberation side of the demo, built through the deliberation services after the demo files are imported.

The Zhaobaoshan case of SPEC.md, moved to 九堡社区: a resident raises the renovation of the old estate (加装电梯与小区
改造); it goes into the classroom (a topic of 好婆婆学堂 and three expert courses — property law by a lawyer, property
management by a property manager, planning by a planner); residents discuss and propose; a ballot takes online votes
and a paper tally from a 居民议事会 meeting; the decision is published; milestones and progress follow; the issue is
closed and residents rate it. This happens in the autumn of 2025, like the rest of the demo.

Two more issues let the demo logins take part today: one in discussion with a ballot open around the real date of
seeding (13900000011 and 13900000012 can vote now), and one just raised.

Idempotent: each issue has a fixed ref; an existing one is left as it is (the open ballot is renewed on a later day
when the previous one has closed).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from gongzhi.activities.models import Activity, ActivityKind, AttendanceSource
from gongzhi.activities.services import attendance_record
from gongzhi.deliberation.models import Ballot, DecisionMethod, Issue, IssueCategory, IssueStatus
from gongzhi.deliberation.services import decisions as ds
from gongzhi.deliberation.services import issues as iss
from gongzhi.learning import services as learning
from gongzhi.learning.models import Course, Teacher
from gongzhi.organizations.models import Organization
from gongzhi.people.models import Resident, User
from gongzhi.places.models import Place

from .demo import DEMO_RESIDENT_PHONES, HAOPOPO_REF, JIUBAO, JIUBAO_COMMUNITY

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_LOGIN_PHONE = "13900000004"  # 九堡社区工作者
CASE_REF = "DEMO-I-ELEVATOR"
VOTING_REF = "DEMO-I-CHARGING"
OPEN_REF = "DEMO-I-GREENWAY"
CASE_TITLE = "老旧小区加装电梯与小区改造"
# (course title, teacher name, expertise, session title, day in 2025, hour)
EXPERT_COURSES: tuple[tuple[str, str, str, str, datetime.date, int], ...] = (
    ("小区改造中的物业法律", "沈立诚", "律师，浙江某律师事务所物业纠纷专业律师", "加装电梯的法律程序与业主表决",
     datetime.date(2025, 9, 13), 14),
    ("物业管理与维修资金", "邵建平", "物业项目经理，注册物业管理师", "维修资金怎么用、电梯以后谁来管",
     datetime.date(2025, 9, 20), 14),
    ("社区规划与小区改造", "顾晓岚", "城市规划师，上城区社区规划师", "老旧小区改造的规划设计与采光影响",
     datetime.date(2025, 9, 27), 14),
)  # fmt: skip


@dataclass
class DeliberationSummary:
    issues: int = 0
    ballots: int = 0
    teachers: int = 0
    courses: int = 0
    notes: list[str] = field(default_factory=list)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _demo_residents() -> list[tuple[User, Resident]]:
    found = []
    for phone in DEMO_RESIDENT_PHONES:
        resident = Resident.objects.filter(phone=phone, user__isnull=False).select_related("user").first()
        if resident is not None and resident.user is not None:
            found.append((resident.user, resident))
    return found


def _neighbours(count: int, exclude: set[Any]) -> list[Resident]:
    """Adults of 九堡社区 still living there, in ref order (deterministic)."""
    qs = Resident.objects.filter(community_id=JIUBAO_COMMUNITY, left_on__isnull=True, birth_year__lte=2005)
    return [r for r in qs.exclude(pk__in=exclude).order_by("ref")[:count]]


def _present(staff: Any, activity: Activity, residents: list[Resident]) -> None:
    for r in residents:
        attendance_record(actor=staff, activity=activity, resident=r, source=AttendanceSource.ROSTER)


def _teacher(place: Place, name: str, expertise: str, summary: DeliberationSummary) -> Teacher:
    found = Teacher.objects.filter(place=place, name=name).order_by("created_at").first()
    if found is not None:
        return found
    summary.teachers += 1
    return learning.teacher_create(actor=None, place=place, name=name, expertise=expertise)


def _course(place: Place, title: str, teacher: Teacher, summary: DeliberationSummary) -> Course:
    found = Course.objects.filter(place=place, title=title).order_by("created_at").first()
    if found is not None:
        return found
    summary.courses += 1
    return learning.course_create(
        actor=None,
        place=place,
        title=title,
        teachers=[teacher],
        audience="关心小区改造的居民、楼道长和业委会成员",
        description="议题进课堂：为小区加装电梯与改造议题开设的专家课程",
        status="closed",
    )


def _case(staff: Any, community: Place, street: Place, logins: list[tuple[User, Resident]],
          summary: DeliberationSummary) -> None:  # fmt: skip
    """The estate-renovation case, end to end."""
    (user_a, res_a), (user_b, res_b) = logins[0], logins[-1]
    issue = iss.issue_raise(
        actor=user_a,
        community=community,
        title=CASE_TITLE,
        description=(
            "我们小区是上世纪九十年代的老房子，六层没有电梯，楼里一半是老人，上下楼很吃力；"
            "外墙渗水、管线老化、停车也乱。希望大家一起商量加装电梯和整体改造。"
        ),
        category=IssueCategory.ESTATE,
        resident=res_a,
        raised_on=datetime.date(2025, 9, 2),
        ref=CASE_REF,
    )
    summary.issues += 1
    iss.issue_transition(
        actor=staff, issue=issue, to_status=IssueStatus.DISCUSSING, reason="议题进课堂，组织专家讲座和议事会",
        on=datetime.date(2025, 9, 8),
    )  # fmt: skip
    haopopo = Organization.objects.filter(ref=HAOPOPO_REF).first()
    if haopopo is not None:
        iss.issue_topic_add(actor=staff, issue=issue, organization=haopopo, note="在好婆婆学堂里一起学、一起议")
    neighbours = _neighbours(40, {res_a.pk, res_b.pk})
    learners = [res_a, res_b, *neighbours[:24]]
    for n, (course_title, name, expertise, session_title, day, hour) in enumerate(EXPERT_COURSES):
        teacher = _teacher(street, name, expertise, summary)
        course = _course(street, course_title, teacher, summary)
        link = iss.issue_session_schedule(
            actor=staff,
            issue=issue,
            title=session_title,
            starts_at=_at(day, hour),
            ends_at=_at(day, hour + 2),
            venue="九堡社区文化家园多功能厅",
            kind=ActivityKind.COURSE_SESSION,
            course=course,
            teacher=teacher,
            purpose="专家讲座",
        )
        _present(staff, link.activity, [*learners[n * 3 : n * 3 + 18], res_a])
    iss.comment_post(
        user=user_a, issue=issue, body="听了沈律师的课才知道，加装电梯要专有部分面积和人数双过三分之二同意。"
    )
    iss.comment_post(user=user_b, issue=issue, body="低层住户担心采光和噪音，规划师讲的补偿办法可以参考。")
    p_full = iss.proposal_add(
        user=user_b, issue=issue, title="整体改造并加装电梯，低层住户给予补偿",
        description="使用维修资金和政府补助加装电梯，同时改造外墙和管线；一二层住户按约定给予补偿。",
    )  # fmt: skip
    p_lift = iss.proposal_add(user=user_a, issue=issue, title="先加装电梯，其他改造明年再议")
    p_wait = iss.proposal_add(user=user_a, issue=issue, title="暂缓，先做外墙防水和管线维修")
    meeting_link = iss.issue_session_schedule(
        actor=staff,
        issue=issue,
        title="九堡社区居民议事会：小区改造方案表决",
        starts_at=_at(datetime.date(2025, 10, 18), 19),
        ends_at=_at(datetime.date(2025, 10, 18), 21),
        venue="九堡社区议事厅",
        kind=ActivityKind.DELIBERATION_MEETING,
        purpose="居民议事会纸质表决",
    )
    meeting = meeting_link.activity
    _present(staff, meeting, neighbours[:26])
    opens = _at(datetime.date(2025, 10, 12), 8)
    closes = _at(datetime.date(2025, 10, 22), 20)
    ballot = ds.ballot_open(
        actor=staff, issue=issue, title="小区改造方案表决", proposals=[p_full, p_lift, p_wait], opens_at=opens,
        closes_at=closes, quorum=20,
    )  # fmt: skip
    summary.ballots += 1
    ds.vote_cast(user=user_a, ballot=ballot, proposal=p_full, now=_at(datetime.date(2025, 10, 13), 20, 5))
    ds.vote_cast(user=user_b, ballot=ballot, proposal=p_full, now=_at(datetime.date(2025, 10, 14), 9, 40))
    ds.paper_votes_enter(
        actor=staff, ballot=ballot, meeting=meeting, counts={p_full: 17, p_lift: 6, p_wait: 3},
        voters=neighbours[:26],
    )  # fmt: skip
    ds.decision_publish(
        actor=staff,
        issue=issue,
        method=DecisionMethod.VOTE,
        text="实施小区整体改造并加装电梯：使用维修资金和政府补助，同时改造外墙和管线，低层住户按约定给予补偿。",
        body="九堡社区居民议事会",
        decided_on=datetime.date(2025, 10, 23),
        ballot=ballot,
        now=_at(datetime.date(2025, 10, 23), 10),
    )
    ds.implementation_start(actor=staff, issue=issue, on=datetime.date(2025, 10, 27))
    plan = (
        ("电梯设计方案公示", "社区居委会", datetime.date(2025, 11, 5), datetime.date(2025, 11, 4)),
        ("施工队进场，电梯井施工", "物业公司", datetime.date(2025, 11, 30), datetime.date(2025, 11, 28)),
        ("电梯安装与验收", "街道城建办", datetime.date(2025, 12, 20), datetime.date(2025, 12, 18)),
    )
    for title, responsible, due, done in plan:
        milestone = ds.milestone_add(actor=staff, issue=issue, title=title, responsible=responsible, due_on=due)
        ds.progress_post(actor=staff, issue=issue, milestone=milestone, body=f"{title}：已按计划完成。")
        ds.milestone_done(actor=staff, milestone=milestone, done_on=done)
    ds.issue_close(actor=staff, issue=issue, on=datetime.date(2025, 12, 22), reason="电梯验收通过，改造完成")
    ds.satisfaction_rate(user=user_a, issue=issue, score=5, comment="终于不用爬楼了")
    ds.satisfaction_rate(user=user_b, issue=issue, score=4)


def _voting_now(staff: Any, community: Place, logins: list[tuple[User, Resident]], now: datetime.datetime,
                summary: DeliberationSummary) -> None:  # fmt: skip
    """An issue in discussion whose ballot is open now: the demo logins can vote at once."""
    (user_a, _res_a), (user_b, _res_b) = logins[0], logins[-1]
    issue = Issue.objects.filter(ref=VOTING_REF).first()
    if issue is None:
        issue = iss.issue_raise(
            actor=user_b,
            community=community,
            title="小区电动自行车集中充电棚建设",
            description="电动车在楼道里充电太危险，建议在小区东门空地建集中充电棚。",
            category=IssueCategory.SAFETY,
            resident=logins[-1][1],
            raised_on=timezone.localdate(now) - datetime.timedelta(days=20),
            ref=VOTING_REF,
        )
        summary.issues += 1
        iss.issue_transition(
            actor=staff, issue=issue, to_status=IssueStatus.DISCUSSING, on=timezone.localdate(now) - datetime.timedelta(days=15)
        )  # fmt: skip
        iss.comment_post(user=user_a, issue=issue, body="东门那块空地晚上没有照明，建棚时一起装灯。")
        iss.proposal_add(user=user_a, issue=issue, title="东门空地建充电棚（约 60 个车位）")
        iss.proposal_add(user=user_b, issue=issue, title="分散建在三处楼间空地")
    issue.refresh_from_db()
    if issue.status != IssueStatus.DISCUSSING:
        return
    if Ballot.objects.filter(issue=issue, opens_at__lte=now, closes_at__gt=now).exists():
        return
    proposals = list(issue.proposals.filter(withdrawn_at__isnull=True).order_by("created_at"))
    ds.ballot_open(
        actor=staff, issue=issue, title="充电棚建设方案表决", proposals=proposals,
        opens_at=now - datetime.timedelta(hours=1), closes_at=now + datetime.timedelta(days=14),
    )  # fmt: skip
    summary.ballots += 1


def _just_raised(community: Place, logins: list[tuple[User, Resident]], summary: DeliberationSummary) -> None:
    if Issue.objects.filter(ref=OPEN_REF).exists():
        return
    user_b, res_b = logins[-1]
    iss.issue_raise(
        actor=user_b,
        community=community,
        title="沿河步道增设休息座椅",
        description="沿河步道很长，老人走一半就累了，希望每隔两百米放一张座椅。",
        category=IssueCategory.ENVIRONMENT,
        resident=res_b,
        ref=OPEN_REF,
    )
    summary.issues += 1


@transaction.atomic
def demo_deliberation_ensure(*, now: datetime.datetime | None = None) -> DeliberationSummary:
    """Build the deliberation demo (idempotent). Needs the imported demo places, the demo logins and 好婆婆学堂."""
    now = now or timezone.now()
    summary = DeliberationSummary()
    places = {p.code: p for p in Place.objects.filter(code__in=[JIUBAO, JIUBAO_COMMUNITY])}
    if len(places) < 2:
        raise LookupError("demo places missing (import the demo files first)")
    community, street = places[JIUBAO_COMMUNITY], places[JIUBAO]
    staff = User.objects.filter(phone=STAFF_LOGIN_PHONE).first()
    logins = _demo_residents()
    if staff is None or len(logins) < 2:
        summary.notes.append("demo logins missing: deliberation demo skipped")
        return summary
    if not Issue.objects.filter(ref=CASE_REF).exists():
        _case(staff, community, street, logins, summary)
    _voting_now(staff, community, logins, now, summary)
    _just_raised(community, logins, summary)
    return summary
