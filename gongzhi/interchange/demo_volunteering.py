"""The volunteering side of the demo (育), built through the volunteering services after the demo files are imported.

The Jiubao case of SPEC.md: a "小蜜蜂志愿服务队" (little bees volunteer team) of new and local residents in 九堡社区,
led by the demo resident login 13900000012 (a new citizen), with 13900000011 among its members. Over 2025 it holds
a volunteer event about once a month (waste sorting, visiting elders, tidying the estate, a summer class for migrant
children, anti-fraud talks …); neighbours sign up; the leader records the hours and the community worker
(13900000004) confirms them — the leader's own hours too, never the leader. One entry is corrected by a reversal
(someone left early). The December event's hours were recorded by the community worker and wait for the leader's
confirmation (the leader's "hours to confirm" page is not empty; the leader's own entry there waits for someone
else). One event a week from the real date of seeding is open for sign-up, so 13900000011 can sign up on a phone.

Idempotent and seeded: each event has a fixed ref; an existing event is left as it is; the upcoming event is made
again only when the previous one has started.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from gongzhi.activities.models import Activity, ActivityKind, ActivitySignup, SignupStatus, VolunteerHours
from gongzhi.activities.volunteering import services as vol
from gongzhi.organizations import services as organizations
from gongzhi.organizations.models import Membership, MembershipRole, Organization, OrganizationKind
from gongzhi.people.models import Resident, User
from gongzhi.places.models import Place

from .demo import JIUBAO_COMMUNITY

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEED = 2025
TEAM_REF = "DEMO-O-BEES"
TEAM_NAME = "小蜜蜂志愿服务队"
TEAM_THEME = "新市民互助、垃圾分类、助老助学"
TEAM_CHARTER = "九堡社区新老居民自发组成的志愿服务队：每月一次集中服务，平时邻里互助。服务时长由队长记录、社区确认。"
TEAM_FOUNDED = datetime.date(2024, 3, 5)
LEADER_PHONE = "13900000012"
MEMBER_PHONE = "13900000011"
STAFF_PHONE = "13900000004"  # 九堡社区工作者: confirms the hours
NEIGHBOURS = 12
# (ref suffix, day, start hour, hours, title, venue, capacity)
EVENTS: tuple[tuple[str, datetime.date, int, str, str, str, int | None], ...] = (
    ("01", datetime.date(2025, 3, 15), 9, "2.5", "垃圾分类桶边督导", "九堡社区各垃圾分类投放点", 12),
    ("02", datetime.date(2025, 4, 19), 14, "2", "敬老院探访与理发", "九堡街道敬老院", 10),
    ("03", datetime.date(2025, 5, 17), 8, "3", "小区环境整治", "九堡社区东区", None),
    ("04", datetime.date(2025, 7, 12), 9, "3", "新市民子女暑期课堂助教", "九堡社区文化家园", 8),
    ("05", datetime.date(2025, 9, 20), 14, "2", "反诈骗宣传进楼道", "九堡社区各楼道", None),
    ("06", datetime.date(2025, 10, 29), 9, "2.5", "重阳节敬老送餐", "九堡社区老年食堂", 10),
    ("07", datetime.date(2025, 12, 13), 9, "2", "冬季楼道清理与送温暖", "九堡社区西区", None),
)  # fmt: skip
CONFIRMED_THROUGH = "06"  # events up to here are recorded by the leader and confirmed by the community worker
CORRECTED_EVENT = "04"  # one entry of this event is corrected: someone left early
UPCOMING_TITLE = "小蜜蜂周末助老服务"
UPCOMING_VENUE = "九堡社区党群服务中心门口集合"


@dataclass
class VolunteeringSummary:
    team_created: bool = False
    members: int = 0
    events: int = 0
    signups: int = 0
    entries: int = 0
    confirmed: int = 0
    pending: int = 0
    reversals: int = 0
    notes: list[str] = field(default_factory=list)


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


def _login(phone: str) -> tuple[User | None, Resident | None]:
    user = User.objects.filter(phone=phone).first()
    resident = Resident.objects.filter(user=user).first() if user is not None else None
    return user, resident


def _team(community: Place, leader: Resident, member: Resident, summary: VolunteeringSummary) -> Organization:
    team = Organization.objects.filter(ref=TEAM_REF).first()
    if team is None:
        team = (
            Organization.objects.filter(place=community, kind=OrganizationKind.VOLUNTEER_TEAM, name=TEAM_NAME)
            .order_by("created_at")
            .first()
        )
    if team is None:
        team = organizations.organization_create(
            actor=None,
            place=community,
            kind=OrganizationKind.VOLUNTEER_TEAM,
            name=TEAM_NAME,
            theme=TEAM_THEME,
            charter=TEAM_CHARTER,
            founded_on=TEAM_FOUNDED,
            stage="incubating",
            ref=TEAM_REF,
        )
        summary.team_created = True
    rng = random.Random(SEED)
    pool = list(
        Resident.objects.filter(
            community_id=JIUBAO_COMMUNITY,
            left_on__isnull=True,
            birth_year__lte=2004,
            birth_year__gte=1950,
            registered_on__lte=datetime.date(2025, 2, 1),
        )
        .exclude(pk__in=[leader.pk, member.pk])
        .order_by("ref")[:400]
    )
    neighbours = rng.sample(pool, min(NEIGHBOURS, len(pool)))
    current = set(
        Membership.objects.filter(organization=team, left_on__isnull=True).values_list("resident_id", flat=True)
    )
    for resident, role in [(leader, MembershipRole.LEADER), (member, MembershipRole.MEMBER)] + [
        (r, MembershipRole.MEMBER) for r in neighbours
    ]:
        if resident.pk in current:
            continue
        organizations.membership_add(
            actor=None, organization=team, resident=resident, role=role, joined_on=TEAM_FOUNDED
        )
        summary.members += 1
    return team


def _members(team: Organization) -> list[Resident]:
    return list(
        Resident.objects.filter(memberships__organization=team, memberships__left_on__isnull=True)
        .select_related("user")
        .order_by("ref")
        .distinct()
    )


def _past_event(
    spec: tuple[str, datetime.date, int, str, str, str, int | None],
    *,
    team: Organization,
    leader_user: User,
    staff: User,
    leader: Resident,
    member: Resident,
    members: list[Resident],
    now: datetime.datetime,
    rng: random.Random,
    summary: VolunteeringSummary,
) -> None:
    suffix, day, hour, length, title, venue, capacity = spec
    starts = _at(day, hour)
    hours = Decimal(length)
    event = vol.volunteer_event_create(
        actor=leader_user,
        team=team,
        title=title,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=int(hours * 60)),
        venue=venue,
        capacity=capacity,
        description=f"{TEAM_NAME}本月集中服务：{title}。",
        ref=f"DEMO-V-BEES-{suffix}",
    )
    summary.events += 1
    # Sign-ups, a few days before: the leader, the demo member, and some of the others (within the capacity).
    others = [r for r in members if r.pk not in (leader.pk, member.pk)]
    chosen = [leader, member, *rng.sample(others, min(len(others), rng.randint(4, 8)))]
    if capacity is not None:
        chosen = chosen[:capacity]
    signed: list[Resident] = []
    for r in chosen:
        _signup, created = vol.signup_create(resident=r, activity=event, now=starts - datetime.timedelta(days=3))
        if created:
            summary.signups += 1
        signed.append(r)
    # Who came: everyone but one or two no-shows (never the leader or the demo member).
    came = [r for r in signed if r in (leader, member) or rng.random() > 0.2]
    last = suffix == EVENTS[-1][0]
    recorder = staff if last else leader_user
    rows = [
        vol.HoursRow(line=i, resident_id=r.pk, hours=hours if rng.random() > 0.25 else hours - Decimal("0.5"))
        for i, r in enumerate(came, start=1)
    ]
    result = vol.volunteer_hours_record_bulk(actor=recorder, activity=event, rows=rows, now=now)
    summary.entries += len(result.created)
    if last:
        summary.pending += len(result.created)
        return
    confirmed_at = starts + datetime.timedelta(days=2)
    for entry in result.created:
        vol.volunteer_hours_confirm(actor=staff, entry=entry, now=confirmed_at)
        summary.confirmed += 1
    if suffix == CORRECTED_EVENT:
        # A volunteer left an hour early: the leader corrects the confirmed entry (points follow).
        entry = next(e for e in result.created if e.resident_id not in (leader.pk, member.pk))
        vol.volunteer_hours_reverse(
            actor=leader_user,
            entry=entry,
            reason="提前一小时离开，按实际服务时长更正",
            hours=entry.hours - Decimal(1),
            now=confirmed_at + datetime.timedelta(days=3),
        )
        summary.reversals += 1


def _upcoming(team: Organization, leader_user: User, now: datetime.datetime, summary: VolunteeringSummary) -> None:
    """One open event a week from the real date (made again once the previous one has started)."""
    if Activity.objects.filter(
        organization=team, kind=ActivityKind.VOLUNTEER_EVENT, starts_at__gt=now, signup_open=True
    ).exists():
        return
    day = timezone.localtime(now).date() + datetime.timedelta(days=7)
    starts = _at(day, 9)
    vol.volunteer_event_create(
        actor=leader_user,
        team=team,
        title=UPCOMING_TITLE,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=2),
        venue=UPCOMING_VENUE,
        capacity=15,
        description="陪伴独居老人就医、代购和聊天，欢迎新老居民报名。",
        ref=f"DEMO-V-BEES-NEXT-{day:%Y%m%d}",
    )
    summary.events += 1


@transaction.atomic
def demo_volunteering_ensure(*, now: datetime.datetime | None = None) -> VolunteeringSummary:
    """Build the volunteering demo (idempotent). Needs the imported demo places and the demo logins."""
    now = now or timezone.now()
    summary = VolunteeringSummary()
    community = Place.objects.filter(code=JIUBAO_COMMUNITY).first()
    leader_user, leader = _login(LEADER_PHONE)
    _member_user, member = _login(MEMBER_PHONE)
    staff = User.objects.filter(phone=STAFF_PHONE).first()
    if community is None or leader is None or member is None or leader_user is None or staff is None:
        summary.notes.append("demo places or logins missing: volunteering demo skipped")
        return summary
    team = _team(community, leader, member, summary)
    members = _members(team)
    existing = set(
        Activity.objects.filter(organization=team, ref__startswith="DEMO-V-BEES-").values_list("ref", flat=True)
    )
    for spec in EVENTS:
        ref = f"DEMO-V-BEES-{spec[0]}"
        if ref in existing:
            continue
        _past_event(
            spec,
            team=team,
            leader_user=leader_user,
            staff=staff,
            leader=leader,
            member=member,
            members=members,
            now=now,
            rng=random.Random(f"{SEED}-{spec[0]}"),
            summary=summary,
        )
    _upcoming(team, leader_user, now, summary)
    return summary


def demo_volunteering_counts() -> dict[str, Any]:
    """What the demo holds (for a report): entries, confirmed, pending, reversals of the team."""
    team = Organization.objects.filter(ref=TEAM_REF).first()
    if team is None:
        return {}
    qs = VolunteerHours.objects.filter(organization=team)
    return {
        "entries": qs.filter(reversal_of__isnull=True).count(),
        "confirmed": qs.filter(reversal_of__isnull=True, confirmed_at__isnull=False).count(),
        "pending": qs.filter(reversal_of__isnull=True, confirmed_at__isnull=True).count(),
        "reversals": qs.filter(reversal_of__isnull=False).count(),
        "signups": ActivitySignup.objects.filter(activity__organization=team, status=SignupStatus.SIGNED_UP).count(),
    }
