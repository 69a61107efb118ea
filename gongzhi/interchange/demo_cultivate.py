"""The 育 cultivate side of the demo, built through the organisations services after the demo files are imported.

Two cases of SPEC.md:

- **Jiubao — the "new Hangzhou people volunteer station" (新杭州人志愿服务驿站).** A grassroots group of new citizens on
  九堡街道, founded in March 2024, meets the street's admission standard (准入标准) and enters incubation in September
  2024, becomes professional in April 2025 and a self-governing public-welfare organisation in November 2025 — every
  move a dated staff decision with its reason and evidence. Along the way: training, a mentor, a venue, start-up funds,
  a government-purchased service contract and two public-welfare posts; its supply list (供给清单) says what it offers.
  Demo login 13900000011 leads it (the leader's view: stage history, support, supply list).
- **Shangcheng — one selection year in the "1050" style.** A 2025 assessment scheme of the district (four weighted
  criteria), a round with two categories — resident studios (居民工作室, 2 places) and quality social organisations
  (优质社会组织, 4 places) — scaled down to the demo's organisations, three assessors (two outside experts with their
  own logins, and the 采荷 street staff), scores, the round closed with one last-place warning per category, a reply
  from the warned studio (led by demo login 13900000012), and the selection published. Two quality organisations tie
  on their total at the quota line: the stated tie-break (the heaviest criterion) decides.

Idempotent: organisations, criteria, schemes and rounds have fixed refs or names; what exists is left as it is.
Needs the imported demo places and organisations and the demo logins (``demo_accounts_ensure``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from gongzhi.organizations import services as org_services
from gongzhi.organizations.cultivation import services as cv
from gongzhi.organizations.models import (
    AdmissionCheck,
    AdmissionCriterion,
    AssessmentRound,
    AssessmentScheme,
    AssessmentScore,
    Membership,
    MembershipRole,
    Organization,
    OrganizationKind,
    OrganizationStage,
    OrganizationStatus,
    RoundEntry,
    RoundStatus,
    SupplyItem,
    SupportKind,
    SupportRecord,
)
from gongzhi.organizations.selectors import STAGE_ORDER
from gongzhi.people import services as people_services
from gongzhi.people.models import Household, Resident, Role, User
from gongzhi.places.models import Place

from .demo import DEMO_RESIDENT_PHONES, DISTRICT, HAOPOPO_REF, JIUBAO, JIUBAO_COMMUNITY
from .demo_accounts import DEMO_PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATION_REF = "DEMO-O-XHZ-STATION"
STATION_NAME = "新杭州人志愿服务驿站"
VOICE_REF = "DEMO-O-XSM-VOICE"
VOICE_NAME = "九堡社区新市民之声工作室"
ADMIN_PHONE = "13900000001"
JIUBAO_STAFF_PHONE = "13900000002"
CAIHE_STAFF_PHONE = "13900000003"
# Outside experts who assess the 1050 round (teachers on the district: no resident roll).
EXPERTS: tuple[tuple[str, str], ...] = (("13900000031", "林慧（评审专家）"), ("13900000032", "许文斌（评审专家）"))
SCHEME_NAME = "上城区社会组织年度评估方案"
ROUND_NAME = "2025 年度上城区“1050”社会组织评选"
QUOTAS = {"studio": 2, "quality_org": 4}  # the 10 + 50 of the district, scaled to the demo's organisations
WARN_LAST = 1

DISTRICT_CRITERIA = ("已在街道或社区备案，接受社区教育中心的业务指导",)
JIUBAO_CRITERIA = (
    "有固定的负责人和 5 名以上骨干成员",
    "有书面章程或活动公约",
    "近 6 个月开展公益活动不少于 6 次，有活动记录",
    "有明确的服务对象和服务内容",
)
ADMISSION_EVIDENCE = {
    DISTRICT_CRITERIA[0]: "九堡街道社会组织备案表（2024 年 3 月）",
    JIUBAO_CRITERIA[0]: "负责人 1 名、骨干成员 8 名，成员名册",
    JIUBAO_CRITERIA[1]: "《新杭州人志愿服务驿站活动公约》（2024 年 4 月成员大会通过）",
    JIUBAO_CRITERIA[2]: "2024 年 3–8 月活动台账：四点半课堂、政策讲解等 11 次",
    JIUBAO_CRITERIA[3]: "服务对象：九堡新市民家庭；服务内容见供给清单",
}
ADMISSION_CHECKED_ON = datetime.date(2024, 8, 20)

# (to stage, effective date, reason, evidence)
STATION_STAGES: tuple[tuple[str, datetime.date, str, str], ...] = (
    (OrganizationStage.INCUBATING, datetime.date(2024, 9, 1),
     "通过准入核查，入驻九堡街道社会组织孵化基地",
     "准入核查 5/5 项符合（2024-08-20）；孵化协议（九堡孵〔2024〕7 号）"),
    (OrganizationStage.PROFESSIONAL, datetime.date(2025, 4, 15),
     "孵化期满评估合格，形成四点半课堂、就业咨询等品牌服务项目",
     "孵化期评估报告（得分 86）；导师督导意见书；2024 年度服务台账"),
    (OrganizationStage.SELF_GOVERNING, datetime.date(2025, 11, 20),
     "在区民政局登记为社会服务机构，理事会自主运营，独立承接政府购买服务",
     "民办非企业单位登记证书；理事会章程与第一次理事会会议纪要；2025 年政府购买服务合同"),
)  # fmt: skip

# (kind, title, starts, ends, amount, quantity, deliverables)
STATION_SUPPORT: tuple[tuple[str, str, datetime.date, datetime.date | None, str | None, int | None, str], ...] = (
    (SupportKind.TRAINING, "社会组织能力建设培训：项目设计与财务管理", datetime.date(2024, 9, 10),
     datetime.date(2024, 9, 12), None, None, ""),
    (SupportKind.MENTORING, "孵化导师一对一督导（上城区社会组织服务中心）", datetime.date(2024, 9, 1),
     datetime.date(2025, 6, 30), None, None, ""),
    (SupportKind.VENUE, "孵化基地办公室与活动室", datetime.date(2024, 9, 1), datetime.date(2025, 8, 31), None, None,
     ""),
    (SupportKind.FUNDS, "新市民子女四点半课堂启动资金", datetime.date(2024, 12, 1), None, "20000", None, ""),
    (SupportKind.CONTRACT, "政府购买服务：新市民子女四点半课堂与暑期托管", datetime.date(2025, 3, 1),
     datetime.date(2025, 12, 31), "180000",
     None, "四点半课堂每周 4 次、暑期托管 6 周；服务新市民子女不少于 120 人、2000 人次；家长满意度不低于 90%"),
    (SupportKind.POST, "公益岗位：项目社工", datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), None, 2, ""),
)  # fmt: skip

STATION_SUPPLY: tuple[tuple[str, str, str], ...] = (
    ("新市民子女四点半课堂", "小学生及其家长", "放学后作业辅导、阅读和兴趣活动，志愿者与项目社工带班。"),
    ("暑期托管", "新市民家庭子女", "暑假六周，上午学习、下午活动，家长下班前接回。"),
    ("就业信息与技能培训咨询", "新市民", "每月一次招聘信息汇总和技能培训报名咨询。"),
    ("居住证、租房与入学政策讲解", "新市民家庭", "请街道和学校老师讲解政策，现场答疑。"),
    ("志愿服务队伍培训", "社区志愿者", "志愿服务礼仪、安全和服务记录。"),
)

SCHEME_CRITERIA: tuple[dict[str, Any], ...] = (
    {"code": "governance", "name": "组织治理", "weight": 0.25, "max": 100,
     "guide": "章程、负责人、财务与档案是否规范；重大事项是否集体决定"},
    {"code": "service", "name": "服务成效", "weight": 0.35, "max": 100,
     "guide": "服务次数、受益人数和居民评价；有台账和照片为证"},
    {"code": "participation", "name": "居民参与", "weight": 0.2, "max": 100,
     "guide": "成员和志愿者规模，新市民、青年参与情况"},
    {"code": "growth", "name": "专业成长", "weight": 0.2, "max": 100,
     "guide": "参加培训和督导，项目化运作、承接服务的能力"},
)  # fmt: skip

# (category, organisation name or ref, (governance, service, participation, growth)) — each assessor adds their
# offset to every criterion, so two entries with equal totals keep them equal (the tie at the quota line).
ENTRIES: tuple[tuple[str, str, tuple[int, int, int, int]], ...] = (
    ("studio", "杭海路社区老娘舅调解工作室", (88, 90, 84, 82)),
    ("studio", HAOPOPO_REF, (86, 86, 92, 80)),
    ("studio", "客运中心社区新市民之家工作室", (80, 82, 84, 76)),
    ("studio", VOICE_REF, (68, 70, 74, 64)),
    ("quality_org", STATION_REF, (92, 95, 90, 88)),
    ("quality_org", "九堡街道红马甲志愿服务队", (88, 90, 86, 84)),
    ("quality_org", "采荷街道社区教育促进会", (86, 85, 82, 86)),
    ("quality_org", "九堡街道新市民互助会", (80, 84, 80, 76)),  # 80.6, service 84: rank 4, selected
    ("quality_org", "采荷街道银龄志愿服务队", (84, 80, 80, 78)),  # 80.6, service 80: rank 5, not selected
    ("quality_org", "双桥社区平安巡防队", (76, 78, 74, 70)),
    ("quality_org", "洁莲社区邻里互助社", (70, 72, 68, 66)),
)
ASSESSOR_OFFSETS = (0, 2, -3)
VOICE_REPLY = (
    "工作室今年三月才成立，上半年两名骨干因工作调动离开，活动一度中断，服务次数偏少。"
    "下半年已补充三名新市民骨干，每周六固定开展“新市民说事”，并与客运中心社区新市民之家工作室结对学习。"
    "恳请保留参评资格，明年接受复评。"
)
CLOSED_AT = datetime.datetime(2025, 12, 10, 17, 0, tzinfo=SHANGHAI)
REPLIED_AT = datetime.datetime(2025, 12, 15, 20, 30, tzinfo=SHANGHAI)
PUBLISHED_AT = datetime.datetime(2025, 12, 20, 10, 0, tzinfo=SHANGHAI)


@dataclass
class CultivateSummary:
    organizations: int = 0
    stage_changes: int = 0
    admission_checks: int = 0
    support_records: int = 0
    supply_items: int = 0
    schemes: int = 0
    rounds: int = 0
    entries: int = 0
    scores: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)  # (phone, what it is) of the assessors
    notes: list[str] = field(default_factory=list)


def _resident_user(phone: str) -> tuple[User, Resident] | None:
    resident = Resident.objects.filter(phone=phone, user__isnull=False).select_related("user").first()
    if resident is None or resident.user is None:
        return None
    return resident.user, resident


def _lead(staff: Any, organization: Organization, resident: Resident, joined_on: datetime.date) -> None:
    """Make the resident a current leader (idempotent)."""
    current = Membership.objects.filter(organization=organization, resident=resident, left_on__isnull=True).first()
    if current is None:
        org_services.membership_add(
            actor=staff, organization=organization, resident=resident, role=MembershipRole.LEADER, joined_on=joined_on
        )
    elif current.role != MembershipRole.LEADER:
        org_services.membership_set_role(actor=staff, membership=current, role=MembershipRole.LEADER)


def _organization(
    staff: Any,
    place: Place,
    ref: str,
    name: str,
    kind: str,
    founded_on: datetime.date,
    theme: str,
    charter: str,
    summary: CultivateSummary,
) -> Organization:
    found = Organization.objects.filter(ref=ref).first()
    if found is not None:
        return found
    summary.organizations += 1
    return org_services.organization_create(
        actor=staff,
        place=place,
        kind=kind,
        name=name,
        theme=theme,
        charter=charter,
        founded_on=founded_on,
        stage=OrganizationStage.GRASSROOTS,
        ref=ref,
    )


def _admission(
    staff: Any, district: Place, street: Place, station: Organization, summary: CultivateSummary
) -> list[AdmissionCriterion]:
    criteria: list[AdmissionCriterion] = []
    for place, texts in ((district, DISTRICT_CRITERIA), (street, JIUBAO_CRITERIA)):
        for order, text in enumerate(texts, start=1):
            criterion = AdmissionCriterion.objects.filter(place=place, text=text).first()
            if criterion is None:
                criterion = cv.admission_criterion_add(actor=staff, place=place, text=text, order=order)
            criteria.append(criterion)
    for criterion in criteria:
        if AdmissionCheck.objects.filter(organization=station, criterion=criterion).exists():
            continue
        cv.admission_check_record(
            actor=staff,
            organization=station,
            criterion=criterion,
            met=True,
            evidence=ADMISSION_EVIDENCE[criterion.text],
            checked_on=ADMISSION_CHECKED_ON,
        )
        summary.admission_checks += 1
    return criteria


def _grow(staff: Any, station: Organization, summary: CultivateSummary) -> None:
    for to_stage, on, reason, evidence in STATION_STAGES:
        station.refresh_from_db(fields=["stage"])
        if STAGE_ORDER[station.stage] >= STAGE_ORDER[to_stage]:
            continue
        org_services.organization_stage_change(
            actor=staff, organization=station, to_stage=to_stage, changed_on=on, reason=reason, evidence=evidence
        )
        summary.stage_changes += 1


def _support(staff: Any, station: Organization, summary: CultivateSummary) -> None:
    for kind, title, starts, ends, amount, quantity, deliverables in STATION_SUPPORT:
        if SupportRecord.objects.filter(organization=station, kind=kind, title=title).exists():
            continue
        cv.support_record_add(
            actor=staff,
            organization=station,
            kind=kind,
            title=title,
            starts_on=starts,
            ends_on=ends,
            amount=Decimal(amount) if amount else None,
            quantity=quantity,
            deliverables=deliverables,
        )
        summary.support_records += 1


def _supply(actor: Any, station: Organization, summary: CultivateSummary) -> None:
    for title, audience, description in STATION_SUPPLY:
        if SupplyItem.objects.filter(organization=station, title=title).exists():
            continue
        cv.supply_item_add(actor=actor, organization=station, title=title, audience=audience, description=description)
        summary.supply_items += 1


def _members(staff: Any, station: Organization, leader: Resident | None) -> None:
    if leader is not None:
        _lead(staff, station, leader, datetime.date(2024, 3, 15))
    if Membership.objects.filter(organization=station, role=MembershipRole.MEMBER).exists():
        return
    prefix = JIUBAO[:9]
    pool = (
        Resident.objects.filter(
            community__code__startswith=prefix,
            household=Household.NEW_CITIZEN,
            left_on__isnull=True,
            birth_year__lte=2005,
            registered_on__lte=datetime.date(2024, 3, 1),
        )
        .exclude(phone__in=DEMO_RESIDENT_PHONES)
        .order_by("ref")[:8]
    )
    for n, resident in enumerate(pool):
        org_services.membership_add(
            actor=staff,
            organization=station,
            resident=resident,
            joined_on=datetime.date(2024, 3, 15) + datetime.timedelta(days=20 * n),
        )


def _assessors(summary: CultivateSummary, district: Place) -> list[User]:
    users: list[User] = []
    for phone, name in EXPERTS:
        user = people_services.user_for_grant(phone=phone, display_name=name)
        people_services.role_grant(actor=None, user=user, place=district, role=Role.TEACHER)
        if not user.has_usable_password():
            people_services.user_password_set(user=user, password=DEMO_PASSWORD)
        users.append(user)
        summary.logins.append((phone, f"{name}：1050 评选评审 / assessor"))
    caihe = User.objects.filter(phone=CAIHE_STAFF_PHONE).first()
    if caihe is not None:
        users.append(caihe)
    return users


def _organization_named(key: str) -> Organization | None:
    qs = Organization.objects.filter(status=OrganizationStatus.ACTIVE, place__code__startswith=DISTRICT[:6])
    return qs.filter(ref=key).first() or qs.filter(name=key).order_by("ref").first()


def _selection(admin: Any, district: Place, summary: CultivateSummary) -> None:
    scheme = AssessmentScheme.objects.filter(place=district, year=2025, name=SCHEME_NAME).order_by("version").first()
    if scheme is None:
        scheme, _new = cv.assessment_scheme_save(
            actor=admin, place=district, year=2025, name=SCHEME_NAME, criteria=[dict(c) for c in SCHEME_CRITERIA]
        )
        summary.schemes += 1
    rnd = AssessmentRound.objects.filter(place=district, name=ROUND_NAME).first()
    if rnd is None:
        rnd = cv.assessment_round_create(
            actor=admin, scheme=scheme, name=ROUND_NAME, quotas=dict(QUOTAS), warn_last=WARN_LAST
        )
        summary.rounds += 1
    if rnd.status == RoundStatus.OPEN:
        assessors = _assessors(summary, district)
        for user in assessors:
            cv.round_assessor_add(actor=admin, round=rnd, user=user)
        for category, key, base in ENTRIES:
            organization = _organization_named(key)
            if organization is None:
                summary.notes.append(f"1050 demo: {key} not found, left out")
                continue
            entry, created = cv.round_entry_add(actor=admin, round=rnd, organization=organization, category=category)
            summary.entries += int(created)
            for user, offset in zip(assessors, ASSESSOR_OFFSETS, strict=False):
                if AssessmentScore.objects.filter(entry=entry, assessor=user).exists():
                    continue
                scores = {
                    c["code"]: max(0, min(100, value + offset)) for c, value in zip(SCHEME_CRITERIA, base, strict=True)
                }
                cv.assessment_score_submit(actor=user, entry=entry, scores=scores)
                summary.scores += 1
        if not RoundEntry.objects.filter(round=rnd).exists():
            summary.notes.append("1050 demo: no organisations entered, round left open")
            return
        rnd, _changed = cv.assessment_round_close(actor=admin, round=rnd, now=CLOSED_AT)
    rnd.refresh_from_db()
    if rnd.status == RoundStatus.CLOSED:
        voice = RoundEntry.objects.filter(round=rnd, organization__ref=VOICE_REF).select_related("organization").first()
        found = _resident_user(DEMO_RESIDENT_PHONES[-1])
        if voice is not None and voice.outcome == RoundEntry.Outcome.WARNED and not voice.reply and found is not None:
            cv.round_entry_reply(actor=found[0], entry=voice, text=VOICE_REPLY, now=REPLIED_AT)
        cv.assessment_round_publish(actor=admin, round=rnd, now=PUBLISHED_AT)


@transaction.atomic
def demo_cultivate_ensure(*, now: datetime.datetime | None = None) -> CultivateSummary:
    """Build the cultivate demo (idempotent). ``now`` is the moment of the run (only used to refuse running before
    the demo's dates: every date here is in 2024–2025)."""
    now = now or timezone.now()
    summary = CultivateSummary()
    places = {p.code: p for p in Place.objects.filter(code__in=[DISTRICT, JIUBAO, JIUBAO_COMMUNITY])}
    if len(places) < 3:
        raise LookupError("demo places missing (import the demo files first)")
    district, street, community = places[DISTRICT], places[JIUBAO], places[JIUBAO_COMMUNITY]
    admin = User.objects.filter(phone=ADMIN_PHONE).first()
    staff = User.objects.filter(phone=JIUBAO_STAFF_PHONE).first()
    if admin is None or staff is None:
        summary.notes.append("demo logins missing: cultivate demo skipped")
        return summary
    if timezone.localdate(now) < datetime.date(2025, 12, 20):
        summary.notes.append("the cultivate demo's dates run to 2025-12-20: skipped before then")
        return summary
    leader_a = _resident_user(DEMO_RESIDENT_PHONES[0])
    leader_b = _resident_user(DEMO_RESIDENT_PHONES[-1])

    station = _organization(
        staff, street, STATION_REF, STATION_NAME, OrganizationKind.SOCIAL_ORG, datetime.date(2024, 3, 15),
        "新市民服务：子女托管、就业、政策咨询",
        "新杭州人志愿服务驿站由在九堡生活、工作的新市民自发成立，互帮互助、服务新市民家庭、融入社区。",
        summary,
    )  # fmt: skip
    _members(staff, station, leader_a[1] if leader_a else None)
    _admission(staff, district, street, station, summary)
    _grow(staff, station, summary)
    _support(staff, station, summary)
    _supply(leader_a[0] if leader_a else staff, station, summary)

    voice = _organization(
        staff, community, VOICE_REF, VOICE_NAME, OrganizationKind.STUDIO, datetime.date(2025, 3, 1),
        "新市民议事与互助", "九堡社区新市民说事、议事的居民工作室。", summary,
    )  # fmt: skip
    if leader_b is not None:
        _lead(staff, voice, leader_b[1], datetime.date(2025, 3, 1))
    else:
        summary.notes.append("demo resident 13900000012 missing: the warned studio has no leader to reply")

    _selection(admin, district, summary)
    return summary
