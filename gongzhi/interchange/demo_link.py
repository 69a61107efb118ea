"""The 联 link side of the demo, built through the resources services after the demo files are imported.

The interchange files carry providers, resources, needs and which activities used which resources (METHOD.md), but
not what the platform keeps around them. This step adds, through the services:

- **the providers' and resources' details**: descriptions, contacts, service areas (which streets and communities a
  resource serves), availability, terms and monthly capacity — what matching reads;
- **pairings (结对) and their delivery record**: the bank with 九堡街道 for 2025 (the Wenjiao bank pairing: financial
  literacy lectures against telecom fraud, a financial-literacy base, staff volunteers), the health college with
  采荷街道 for a school year (student volunteers' health talks), the family-education NGO with 九堡街道 (open-ended).
  Each delivery is an imported activity that used the provider's resources there, with the number of people present;
- **partner accounts**: the bank's community liaison (``13900000021``) and the college's volunteer coordinator
  (``13900000022``), password ``gongzhi2026``: they see their provider's resources, the needs matched to them and
  record their pairing's delivery;
- **fulfilment and ratings**: each imported fulfilled need is linked to the activity that met it (the one in its
  community or street that used the need's resource on the day it was fulfilled), and a few residents who were
  present rate it (mostly 4–5 stars). The demo resident ``13900000011`` has a need of their own (婆媳沟通) fulfilled
  by a 好婆婆 session they attended, left unrated so that the login can rate it;
- **learning spaces** with opening hours, and **bookings** over the four weeks from the real date of seeding: two
  weekly series (好婆婆学堂 in 九堡社区's classroom, a calligraphy group in the library's 采荷 branch), one-off
  bookings, one cancelled, and an upcoming lecture of the bank at its financial-literacy base (an activity that names
  its space and the resource it uses);
- **a needs survey** (需求调查) sent by 九堡街道 to its residents, answered by about 40 of them on their phones (they get
  accounts with consent; the two demo resident logins are among them) and closed; its top topics become needs of the
  communities (direction ``survey``) and one is matched to the bank's lecture. Surveys, bookings and reports follow
  the services' rules of time (answers only while open, bookings from today on), so this part happens around the
  real date of seeding, like ``demo_learning``'s upcoming sessions;
- **a resident's report**: ``13900000012`` asks for the community classroom to open on weekend evenings.

Idempotent and seeded: a second run finds what exists and creates nothing twice (a run on a later day may add that
day's bookings). Needs the imported demo files and the demo logins (``demo_accounts_ensure``).
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from gongzhi.activities.fulfilment import services as fulfilment
from gongzhi.activities.models import Activity, ActivityKind, ActivityMode, AttendanceStatus
from gongzhi.activities.services import activity_create
from gongzhi.core.errors import DomainError
from gongzhi.learning import services as learning_services
from gongzhi.learning.models import Course, CourseStatus
from gongzhi.people import services as people
from gongzhi.people.models import Consent, Resident, Role, User
from gongzhi.places.models import Place
from gongzhi.resources.models import (
    Booking,
    BookingSeries,
    LearningSpace,
    Need,
    NeedsSurvey,
    NeedStatus,
    Pairing,
    Provider,
    Rating,
    Resource,
)
from gongzhi.resources.services import needs as need_services
from gongzhi.resources.services import providers as provider_services
from gongzhi.resources.services import spaces as space_services
from gongzhi.resources.services import surveys as survey_services

from .demo import (
    BANK_LECTURE_REF,
    BANK_REF,
    BANK_VENUE_REF,
    CAIHE,
    DEFAULT_SEED,
    DEMO_RESIDENT_PHONES,
    JIUBAO,
    JIUBAO_COMMUNITY,
    PARENT_EDUCATION_NGO_REF,
    PARENT_GUIDE_REF,
    UNIVERSITY_REF,
)
from .demo_accounts import DEMO_PASSWORD, DemoLogin

SHANGHAI = ZoneInfo("Asia/Shanghai")
JIUBAO_STAFF_PHONE = "13900000002"
CAIHE_STAFF_PHONE = "13900000003"
COMMUNITY_WORKER_PHONE = "13900000004"
FURONG = "330102007001"  # 芙蓉社区, rich in outside resources
SHUANGQIAO = "330102011003"  # 双桥社区, with few

# phone, display name, provider ref, the place shown for the login
PARTNER_LOGINS: tuple[tuple[str, str, str, str], ...] = (
    ("13900000021", "钱塘银行九堡支行 社区联络员", BANK_REF, JIUBAO),
    ("13900000022", "之江健康职业学院 志愿服务指导老师", UNIVERSITY_REF, CAIHE),
)

# provider ref → (description, contact name, contact phone)
PROVIDER_DETAILS: dict[str, tuple[str, str, str]] = {
    "P001": ("与九堡街道结对的银行网点，设金融知识教育基地，开展防范电信诈骗、养老防骗和新市民金融服务讲座。",
             "周晓峰", "0571-86901234"),
    "P002": ("护理、康复和健康管理专业的大学生志愿者，学期中到社区开展健康讲座和青少年健康课。",
             "林雅琴", "0571-86902345"),
    "P003": ("以市场化方式运营的老年智能手机课程：社区提供场地，企业派讲师，低保和高龄老人免费。",
             "何志远", "0571-86903456"),
    "P004": ("区家庭教育指导合作单位：儿童保健科医生到社区和好婆婆学堂讲科学育儿。", "陈晓燕", "0571-86904567"),
    "P005": ("家庭教育指导服务机构，区“星级家长执照”合作伙伴，派家庭教育指导师授课。", "周丽", "0571-86905678"),
    "P006": ("社区卫生服务中心全科医生团队，开展慢病预防、合理膳食和居家运动讲座。", "刘建华", "0571-86906789"),
    "P009": ("区图书馆采荷分馆，开放共享学习空间，提供亲子阅读指导。", "蒋文", "0571-86907890"),
    "P010": ("采荷商会设立社区教育公益金，资助学习共同体和社区学校活动。", "徐国强", "0571-86908901"),
    "P011": ("商业中心三楼的共享学习空间，工作日白天和周末免费向社区团队开放。", "吴倩", "0571-86909012"),
    "P012": ("九堡商会新市民关爱基金，资助新市民互助活动和子女学习。", "沈明", "0571-86900123"),
}  # fmt: skip
# resource ref → (service area codes, availability, terms, capacity per month, available from, available until)
RESOURCE_DETAILS: dict[str, tuple[tuple[str, ...], str, str, int | None, datetime.date | None, datetime.date | None]] = {
    "RS001": ((JIUBAO, CAIHE), "每月 2–4 场，工作日或周六上午", "免费，需提前两周预约", 4, None, None),
    "RS002": ((JIUBAO,), "工作日 9:00–17:00", "免费，需提前一周预约，限 30 人", 8, None, None),
    "RS003": ((JIUBAO,), "每月一次，周末", "免费", 2, None, None),
    "RS004": ((CAIHE, "330102011002"), "学期中周末", "免费；寒暑假暂停", 4,
              datetime.date(2024, 2, 15), datetime.date(2026, 7, 15)),
    "RS005": ((CAIHE,), "学期中周五下午", "免费，面向中小学生", 2, None, None),
    "RS006": ((CAIHE, JIUBAO), "每期 8 次，工作日上午", "市场化运营：每期 80 元/人，低保和 80 岁以上老人免费", 2,
              None, None),
    "RS007": ((CAIHE, JIUBAO), "工作日", "随课程提供", 4, None, None),
    "RS008": ((JIUBAO, CAIHE), "每月 2 次，周六上午", "免费（区家庭教育指导合作单位）", 2, None, None),
    "RS009": ((JIUBAO,), "每周 1–2 次", "免费（政府购买服务）", 6, None, None),
    "RS010": ((JIUBAO, CAIHE), "每季度 1 场大讲堂", "免费", 1, None, None),
    "RS011": ((JIUBAO,), "每月 2 次，工作日下午", "免费", 2, None, None),
    "RS012": ((JIUBAO, CAIHE), "每月 1 场", "免费，需提前预约，每场 40 人以内", 1, None, None),
    "RS013": ((JIUBAO, CAIHE), "每月 1 次", "公益普法，免费", 1, None, None),
    "RS014": ((FURONG, "330102007002", "330102007003"), "周二至周日 9:00–20:30", "免费，团队需提前预约", 12,
              None, None),
    "RS015": ((CAIHE,), "每月 2 次，周日上午", "免费", 2, None, None),
    "RS016": ((CAIHE,), "按季度申请，每项不超过 5000 元", "用于社区教育与学习共同体活动，需提交活动总结", None,
              datetime.date(2024, 1, 1), datetime.date(2025, 12, 31)),
    "RS017": ((JIUBAO,), "每天 10:00–21:00", "工作日白天和周末免费", 10, None, None),
    "RS018": ((JIUBAO,), "全年受理", "资助新市民互助活动，每项不超过 3000 元", None, None, None),
    "RS019": ((JIUBAO, CAIHE), "每月 1 次", "免费", 1, None, None),
    "RS020": ((JIUBAO, CAIHE), "按需配送", "免费", None, None, None),
    "RS021": ((CAIHE,), "周末", "每期 6 次，材料费自理", 1, None, None),
}  # fmt: skip
# provider ref, place, starts on, ends on, commitments, the resources whose use counts as delivery, partner phone
PAIRINGS: tuple[tuple[str, str, datetime.date, datetime.date | None, str, tuple[str, ...], str], ...] = (
    (BANK_REF, JIUBAO, datetime.date(2025, 1, 1), datetime.date(2025, 12, 31),
     "金融知识进社区：每季度不少于 3 场防范电信诈骗和养老防骗讲座；开放九堡支行金融知识教育基地；"
     "员工志愿者每月一次反诈宣传进社区；为新市民提供银行卡与支付安全咨询。",
     ("RS001", "RS002", "RS003"), "13900000021"),
    (UNIVERSITY_REF, CAIHE, datetime.date(2025, 3, 1), datetime.date(2026, 2, 28),
     "大学生志愿者健康讲座：学期中每月不少于 2 场；为社区青少年开设健康知识课；寒暑假暂停。",
     ("RS004", "RS005"), "13900000022"),
    (PARENT_EDUCATION_NGO_REF, JIUBAO, datetime.date(2024, 9, 1), None,
     "家庭教育指导：为好婆婆学堂四个系列派家庭教育指导师；每季度一场家庭教育大讲堂。",
     ("RS009", "RS010"), ""),
)  # fmt: skip

# Learning spaces: (place, name, resource ref or "", address, capacity, opens, closes, weekdays)
SPACES: tuple[tuple[str, str, str, str, int, datetime.time, datetime.time, str], ...] = (
    (JIUBAO_COMMUNITY, "九堡社区文化家园学习室", "", "九堡社区文化家园二楼", 40,
     datetime.time(8, 30), datetime.time(21, 0), "1234567"),
    (JIUBAO, "金融知识教育基地", BANK_VENUE_REF, "钱塘银行九堡支行三楼", 30,
     datetime.time(9, 0), datetime.time(17, 0), "12345"),
    (JIUBAO, "九堡商业中心共享学习空间", "RS017", "九堡商业中心三楼", 25,
     datetime.time(10, 0), datetime.time(21, 0), "1234567"),
    (FURONG, "图书馆采荷分馆共享学习空间", "RS014", "芙蓉社区邻里中心一楼", 60,
     datetime.time(9, 0), datetime.time(20, 30), "234567"),
    (SHUANGQIAO, "双桥社区活动室", "", "双桥社区居委会一楼", 20,
     datetime.time(8, 30), datetime.time(17, 30), "12345"),
)  # fmt: skip
# Weekly series from this week: (space name, title, ISO weekday, start, end, weeks, booker phone)
WEEKLY: tuple[tuple[str, str, int, datetime.time, datetime.time, int, str], ...] = (
    ("九堡社区文化家园学习室", "好婆婆学堂每周学习", 3, datetime.time(14, 0), datetime.time(16, 0), 6,
     COMMUNITY_WORKER_PHONE),
    ("图书馆采荷分馆共享学习空间", "芙蓉书画学习共同体每周活动", 6, datetime.time(9, 0), datetime.time(11, 0), 4,
     CAIHE_STAFF_PHONE),
)  # fmt: skip
# One-off bookings: (space name, week from this one, ISO weekday, start, end, title, booker phone)
ONE_OFF: tuple[tuple[str, int, int, datetime.time, datetime.time, str, str], ...] = (
    ("九堡社区文化家园学习室", 0, 5, datetime.time(19, 0), datetime.time(20, 30), "九堡社区居民议事会",
     COMMUNITY_WORKER_PHONE),
    ("九堡社区文化家园学习室", 1, 1, datetime.time(9, 0), datetime.time(11, 0), "社区学校·家庭急救（红十字会）",
     COMMUNITY_WORKER_PHONE),
    ("九堡社区文化家园学习室", 2, 4, datetime.time(19, 0), datetime.time(20, 30), "智能手机课答疑",
     COMMUNITY_WORKER_PHONE),
    ("九堡商业中心共享学习空间", 1, 6, datetime.time(14, 0), datetime.time(16, 0), "新市民互助会周末分享会",
     JIUBAO_STAFF_PHONE),
    ("九堡商业中心共享学习空间", 3, 7, datetime.time(10, 0), datetime.time(11, 30), "亲子阅读会",
     JIUBAO_STAFF_PHONE),
    ("图书馆采荷分馆共享学习空间", 1, 7, datetime.time(10, 0), datetime.time(11, 30), "亲子阅读指导",
     CAIHE_STAFF_PHONE),
    ("图书馆采荷分馆共享学习空间", 2, 3, datetime.time(14, 0), datetime.time(16, 0), "大学生志愿者健康讲座",
     CAIHE_STAFF_PHONE),
    ("双桥社区活动室", 2, 2, datetime.time(9, 0), datetime.time(10, 30), "双桥社区平安巡防队例会",
     JIUBAO_STAFF_PHONE),
)  # fmt: skip
CANCELLED_BOOKING = ("九堡商业中心共享学习空间", "亲子阅读会", "讲师临时有事，改期另行通知")
# The bank's upcoming lectures at its base, held as activities that name their space and resource.
BANK_COURSE_TITLE = "金融知识讲座"
BANK_LECTURES: tuple[tuple[int, int, datetime.time, datetime.time, str], ...] = (
    (1, 2, datetime.time(9, 30), datetime.time(11, 0), "金融知识讲座：识破养老诈骗的套路"),
    (3, 4, datetime.time(14, 0), datetime.time(15, 30), "金融知识讲座：新市民银行卡与移动支付安全"),
)

SURVEY_TITLE = "九堡街道居民学习需求调查"
SURVEY_INTRO = "想学什么、什么时候方便、在哪里上课？请花一分钟告诉我们，街道将据此安排课程和对接资源。"
# topic, resource kind of the need it becomes, and who picks it (a weight by resident)
SURVEY_TOPICS: tuple[tuple[str, str], ...] = (
    ("防范电信诈骗", "course"),
    ("智能手机使用", "course"),
    ("科学育儿", "teacher"),
    ("慢病预防与健康", "teacher"),
    ("家庭急救", "course"),
    ("书法国画", "course"),
    ("英语口语", "course"),
    ("法律常识", "teacher"),
)
SURVEY_RESPONDENTS = 40
SURVEY_NEED_TOPICS = 3  # the top topics that become needs
SURVEY_MIN_COUNT = 2  # respondents of a community who picked the topic
SURVEY_MATCH = ("防范电信诈骗", JIUBAO_COMMUNITY, BANK_LECTURE_REF)  # one survey need matched at once

LOGIN_NEED_REF = "DEMO-N-INLAWS"  # 13900000011's need, fulfilled by a 好婆婆 session, left for the login to rate
REPORT_NEED_REF = "DEMO-N-WEEKEND"  # 13900000012's report
RATING_COMMENTS: dict[int, tuple[str, ...]] = {
    5: ("讲得很实用，回去就教给老伴了", "老师很耐心，还想再听", "正是我们需要的，谢谢社区", ""),
    4: ("内容不错，时间可以再长一点", "讲得清楚，希望多办几场", ""),
    3: ("人太多了，后排听不清", "内容有点浅", ""),
    2: ("和想学的不太一样",),
}


@dataclass
class LinkSummary:
    providers_detailed: int = 0
    pairings: int = 0
    deliveries: int = 0
    partner_accounts: int = 0
    needs_linked: int = 0
    ratings: int = 0
    spaces: int = 0
    bookings: int = 0
    series: int = 0
    activities: int = 0
    survey_answers: int = 0
    survey_needs: int = 0
    matches: int = 0
    reports: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _rng(seed: int, part: str) -> random.Random:
    """Each part draws from its own stream, so that one part's draws never shift another's."""
    return random.Random(f"gongzhi-demo-link:{seed}:{part}")


def _local(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, at, tzinfo=SHANGHAI)


def _user(phone: str) -> User | None:
    return User.objects.filter(phone=phone).first()


# --- providers, resources, partner accounts ---------------------------------------------------------------------


def _details(summary: LinkSummary) -> None:
    """Descriptions, contacts, service areas, availability and terms (service updates change nothing the 2nd time)."""
    providers = {p.ref: p for p in Provider.objects.filter(ref__in=PROVIDER_DETAILS)}
    for ref, (description, contact, phone) in PROVIDER_DETAILS.items():
        provider = providers.get(ref)
        if provider is None:
            continue
        if (provider.description, provider.contact_name, provider.contact_phone) != (description, contact, phone):
            summary.providers_detailed += 1
        provider_services.provider_update(
            actor=None, provider=provider, description=description, contact_name=contact, contact_phone=phone
        )
    areas = {p.code: p for p in Place.objects.filter(code__in={c for d in RESOURCE_DETAILS.values() for c in d[0]})}
    for resource in Resource.objects.filter(ref__in=RESOURCE_DETAILS).select_related("provider"):
        codes_, availability, terms, capacity, since, until = RESOURCE_DETAILS[resource.ref]
        provider_services.resource_update(
            actor=None,
            resource=resource,
            service_area=[areas[c] for c in codes_ if c in areas],
            availability=availability,
            terms=terms,
            capacity=capacity,
            available_from=since,
            available_until=until,
        )


def _partners(summary: LinkSummary, places: dict[str, Place]) -> dict[str, User]:
    """The partner logins: linked to their provider, with the demo password."""
    users: dict[str, User] = {}
    providers = {p.ref: p for p in Provider.objects.filter(ref__in=[ref for _p, _n, ref, _c in PARTNER_LOGINS])}
    for phone, display_name, provider_ref, place_code in PARTNER_LOGINS:
        provider = providers.get(provider_ref)
        if provider is None:
            continue
        if not provider.members.filter(phone=phone).exists():
            summary.partner_accounts += 1
        user = provider_services.provider_member_add(
            actor=None, provider=provider, phone=phone, display_name=display_name
        )
        if not user.has_usable_password():
            people.user_password_set(user=user, password=DEMO_PASSWORD)
        users[phone] = user
        place = places[place_code]
        summary.logins.append(
            DemoLogin(phone, DEMO_PASSWORD, Role.RESOURCE_PARTNER, f"资源方（{provider.name}）", place.code, place.name)
        )
    return users


# --- pairings and their delivery ----------------------------------------------------------------------------------


def _pairings(
    summary: LinkSummary, places: dict[str, Place], staff: dict[str, User], partners: dict[str, User]
) -> None:
    providers = {p.ref: p for p in Provider.objects.filter(ref__in=[p[0] for p in PAIRINGS])}
    today = timezone.localdate()  # deliveries are never in the future (the service's rule)
    for provider_ref, place_code, starts_on, ends_on, commitments, resource_refs, partner_phone in PAIRINGS:
        provider = providers.get(provider_ref)
        if provider is None:
            continue
        place = places[place_code]
        existing = Pairing.objects.filter(provider=provider, place=place, starts_on=starts_on).first()
        pairing = existing or provider_services.pairing_create(
            actor=staff[place_code], provider=provider, place=place, starts_on=starts_on, ends_on=ends_on,
            commitments=commitments,
        )  # fmt: skip
        summary.pairings += existing is None
        # What it delivered: the activities there that used its resources, with the people present.
        last = min(ends_on or today, today)
        used = Activity.objects.filter(resources__ref__in=resource_refs).values("pk")
        activities = list(
            Activity.objects.filter(
                pk__in=used,
                place__code__startswith=place_code[:9],
                starts_at__gte=_local(starts_on, datetime.time(0)),
                starts_at__lt=_local(last + datetime.timedelta(days=1), datetime.time(0)),
            )
            .select_related("place")
            .annotate(present=Count("attendances", filter=Q(attendances__status=AttendanceStatus.PRESENT)))
            .order_by("starts_at", "ref")
        )
        what: dict[Any, list[str]] = defaultdict(list)  # activity → the pairing's resources it used
        for activity_id, name in (
            Activity.resources.through.objects.filter(
                activity_id__in=[a.pk for a in activities], resource__ref__in=resource_refs
            )
            .order_by("resource__ref")
            .values_list("activity_id", "resource__name")
        ):
            what[activity_id].append(name.partition("（")[0])
        recorder = partners.get(partner_phone) or staff[place_code]
        before = pairing.deliveries.count()
        for activity in activities:
            provider_services.delivery_record(
                actor=recorder,
                pairing=pairing,
                delivered_on=timezone.localdate(activity.starts_at),
                description=f"{'、'.join(what[activity.pk])}：{activity.title}（{activity.place.name}）"[:300],
                quantity=activity.present or None,
            )
        summary.deliveries += pairing.deliveries.count() - before


# --- fulfilment and ratings ---------------------------------------------------------------------------------------


def _fulfilments(summary: LinkSummary, rng: random.Random, staff_of: dict[str, User]) -> None:
    """Link each imported fulfilled need to the activity that met it; residents who came rate it."""
    needs = list(
        Need.objects.filter(status=NeedStatus.FULFILLED, resource__isnull=False, fulfilled_on__isnull=False)
        .exclude(ref__startswith="DEMO-")
        .select_related("resource")
        .order_by("ref")
    )
    for need in needs:
        linked = need.activities.order_by("starts_at").first()
        if linked is None:
            street = need.community_id[:9] + "000"
            day = need.fulfilled_on
            assert day is not None
            linked = (
                Activity.objects.filter(
                    place_id__in=(need.community_id, street),
                    resources=need.resource,
                    starts_at__gte=_local(day, datetime.time(0)),
                    starts_at__lt=_local(day + datetime.timedelta(days=1), datetime.time(0)),
                )
                .order_by("starts_at", "ref")
                .first()
            )
            if linked is None:
                continue
            fulfilment.need_fulfil(actor=staff_of[street], need=need, activity=linked)
            summary.needs_linked += 1
        if Rating.objects.filter(need=need).exists():
            continue
        present = list(
            Resident.objects.filter(
                attendances__activity=linked, attendances__status=AttendanceStatus.PRESENT
            ).order_by("ref")
        )
        own = [r for r in present if r.community_id == need.community_id] or present
        for resident in rng.sample(own, min(len(own), rng.randint(2, 6))):
            score = rng.choices((5, 4, 3, 2), weights=(0.55, 0.3, 0.12, 0.03))[0]
            _rating, made = fulfilment.need_rate(
                resident=resident, need=need, score=score, comment=rng.choice(RATING_COMMENTS[score])
            )
            summary.ratings += made


def _login_need(summary: LinkSummary, staff: User, community: Place) -> None:
    """13900000011 asked for help with in-law communication; a 好婆婆 session they attended met it."""
    if Need.objects.filter(ref=LOGIN_NEED_REF).exists():
        return
    resident = Resident.objects.filter(phone=DEMO_RESIDENT_PHONES[0], user__isnull=False).first()
    resource = Resource.objects.filter(ref=PARENT_GUIDE_REF).first()
    if resident is None or resource is None or resident.community_id != community.code:
        return
    session = (
        Activity.objects.filter(
            kind=ActivityKind.COURSE_SESSION,
            title__in=("婆媳沟通的艺术", "家庭角色与边界"),
            attendances__resident=resident,
            attendances__status=AttendanceStatus.PRESENT,
            place_id__in=(community.code, JIUBAO),
        )
        .order_by("-starts_at")
        .first()
    )
    if session is None:
        return
    day = timezone.localdate(session.starts_at)
    need, _made = need_services.need_report(
        actor=resident.user,
        community=community,
        resident=resident,
        title="婆媳之间总为带孩子的事闹别扭，想请专业老师讲讲怎么沟通",
        resource_kind="teacher",
        description="家里三代同住，想和婆婆一起去听，最好是周末或工作日下午。",
        preferred_time="周末或工作日下午",
        raised_on=day - datetime.timedelta(days=24),
        ref=LOGIN_NEED_REF,
    )
    summary.reports += 1
    need = need_services.need_match(actor=staff, need=need, resource=resource, on=day - datetime.timedelta(days=20))
    fulfilment.need_fulfil(actor=staff, need=need, activity=session)
    summary.needs_linked += 1


def _resident_report(summary: LinkSummary, community: Place, today: datetime.date) -> None:
    if Need.objects.filter(ref=REPORT_NEED_REF).exists():
        return
    resident = Resident.objects.filter(phone=DEMO_RESIDENT_PHONES[-1], user__isnull=False).first()
    if resident is None or resident.community_id != community.code:
        return
    need_services.need_report(
        actor=resident.user,
        community=community,
        resident=resident,
        title="希望社区学习室周末晚上也能开放",
        resource_kind="venue",
        description="上班族只有周末晚上有空，想和邻居一起看书、上网课。",
        preferred_time="周六、周日 19:00–21:00",
        raised_on=today - datetime.timedelta(days=3),
        ref=REPORT_NEED_REF,
    )
    summary.reports += 1


# --- learning spaces and bookings ---------------------------------------------------------------------------------


def _spaces(summary: LinkSummary, places: dict[str, Place], staff_of: dict[str, User]) -> dict[str, LearningSpace]:
    resources = {r.ref: r for r in Resource.objects.filter(ref__in=[s[2] for s in SPACES if s[2]])}
    found: dict[str, LearningSpace] = {}
    for place_code, name, resource_ref, address, capacity, opens, closes, weekdays in SPACES:
        place = places.get(place_code)
        if place is None:
            continue
        space = LearningSpace.objects.filter(place=place, name=name).first()
        if space is None:
            space = space_services.space_create(
                actor=staff_of[place_code[:9] + "000"],
                place=place,
                name=name,
                capacity=capacity,
                opens_at=opens,
                closes_at=closes,
                weekdays=weekdays,
                address=address,
                resource=resources.get(resource_ref),
            )
            summary.spaces += 1
        found[name] = space
    return found


def _bookings(summary: LinkSummary, spaces: dict[str, LearningSpace], today: datetime.date, now: datetime.datetime,
              partners: dict[str, User]) -> None:  # fmt: skip
    monday = today - datetime.timedelta(days=today.weekday())
    for space_name, title, weekday, start, end, weeks, phone in WEEKLY:
        space, booker = spaces.get(space_name), _user(phone)
        if space is None or BookingSeries.objects.filter(space=space, title=title, last_on__gte=today).exists():
            continue
        first = today if _local(today, start) > now else today + datetime.timedelta(days=1)
        try:
            space_services.booking_series_create(
                actor=booker, space=space, title=title, weekday=weekday, starts_at=start, ends_at=end, first_on=first,
                last_on=first + datetime.timedelta(days=7 * weeks - 1),
            )  # fmt: skip
            summary.series += 1
        except DomainError as exc:
            summary.notes.append(f"每周预约未创建 weekly booking skipped: {title}: {exc.message}")
    for space_name, week, weekday, start, end, title, phone in ONE_OFF:
        space = spaces.get(space_name)
        day = monday + datetime.timedelta(days=7 * week + weekday - 1)
        starts_at, ends_at = _local(day, start), _local(day, end)
        if space is None or starts_at <= now or Booking.objects.filter(space=space, starts_at=starts_at).exists():
            continue
        try:
            space_services.booking_create(
                actor=_user(phone), space=space, title=title, starts_at=starts_at, ends_at=ends_at
            )
            summary.bookings += 1
        except DomainError as exc:
            summary.notes.append(f"预约未创建 booking skipped: {title} {day}: {exc.message}")
    space_name, title, reason = CANCELLED_BOOKING
    for booking in Booking.objects.filter(
        space__name=space_name, title=title, status="active", starts_at__gt=now
    ).order_by("starts_at")[:1]:
        space_services.booking_cancel(actor=_user(JIUBAO_STAFF_PHONE), booking=booking, reason=reason)
    # The bank's upcoming lectures at its base: activities that book the space and name the resource they use.
    base, lecture = spaces.get("金融知识教育基地"), Resource.objects.filter(ref=BANK_LECTURE_REF).first()
    if base is None or lecture is None:
        return
    for week, weekday, start, end, title in BANK_LECTURES:
        day = monday + datetime.timedelta(days=7 * week + weekday - 1)
        ref = f"DEMO-L-{day:%Y%m%d}"
        starts_at = _local(day, start)
        if starts_at <= now or Activity.objects.filter(ref=ref).exists():
            continue
        try:
            activity_create(
                actor=_user(JIUBAO_STAFF_PHONE),
                place=base.place,
                kind=ActivityKind.COURSE_SESSION,
                title=title,
                starts_at=starts_at,
                ends_at=_local(day, end),
                venue=base.name,
                capacity=base.capacity,
                mode=ActivityMode.CENTRALISED,
                description="钱塘银行九堡支行结对共建：金融知识进社区。",
                ref=ref,
                space=base,
                resources=[lecture],
            )
            summary.activities += 1
        except DomainError as exc:
            summary.notes.append(f"讲座未创建 lecture skipped: {title} {day}: {exc.message}")
    # Each lecture is a session of the bank's course, so that it shows among the courses (and a second seed_demo's
    # learning step finds no unlinked sessions to turn into courses).
    unlinked = list(
        Activity.objects.filter(
            ref__startswith="DEMO-L-", kind=ActivityKind.COURSE_SESSION, course_session__isnull=True
        ).order_by("starts_at")
    )
    if unlinked:
        course = Course.objects.filter(place=base.place, title=BANK_COURSE_TITLE).order_by("created_at").first()
        if course is None:
            course = learning_services.course_create(
                actor=None,
                place=base.place,
                title=BANK_COURSE_TITLE,
                audience="中老年居民、新市民",
                description="钱塘银行九堡支行结对共建：金融知识进社区。",
                status=CourseStatus.OPEN,
            )
        for activity in unlinked:
            learning_services.course_session_attach(actor=None, course=course, activity=activity)


# --- the needs survey ---------------------------------------------------------------------------------------------


def _topic_weights(resident: Resident, year: int) -> list[float]:
    """What a resident is likely to want to learn (older people: fraud and phones; young parents: child care)."""
    age = year - (resident.birth_year or year - 45)
    weights = [1.0] * len(SURVEY_TOPICS)
    names = [t for t, _k in SURVEY_TOPICS]
    if age >= 55:
        weights[names.index("防范电信诈骗")] += 3
        weights[names.index("智能手机使用")] += 3
        weights[names.index("慢病预防与健康")] += 2
        weights[names.index("书法国画")] += 1
    if 25 <= age <= 45:
        weights[names.index("科学育儿")] += 3
        weights[names.index("英语口语")] += 1
        weights[names.index("法律常识")] += 1
    if resident.household == "new_citizen":
        weights[names.index("法律常识")] += 1
        weights[names.index("防范电信诈骗")] += 1
    return weights


def _respondents(rng: random.Random, street: Place) -> list[Resident]:
    """About 40 adults of the street's communities who use the platform on their phones (the demo logins first)."""
    logins = list(Resident.objects.filter(phone__in=DEMO_RESIDENT_PHONES, user__isnull=False).order_by("ref"))
    pool = list(
        Resident.objects.filter(community__code__startswith=street.code[:9], left_on__isnull=True, birth_year__lte=2005)
        .exclude(phone="")
        .exclude(phone__in=DEMO_RESIDENT_PHONES)
        .order_by("ref")
    )
    chosen = rng.sample(pool, min(len(pool), SURVEY_RESPONDENTS - len(logins)))
    return logins + sorted(chosen, key=lambda r: r.ref)


def _account(resident: Resident) -> User | None:
    """The resident's account: claimed with a password nobody knows (they use SMS codes), with consent recorded."""
    if resident.user_id is None:
        if User.objects.filter(phone=resident.phone).exists():
            return None
        people.account_claim(phone=resident.phone, password=secrets.token_urlsafe(18))
        resident.refresh_from_db()
    people.consent_give(resident=resident, purpose=Consent.Purpose.PLATFORM, version=Consent.CURRENT_VERSION)
    return resident.user


def _survey(summary: LinkSummary, rng: random.Random, street: Place, staff: User, today: datetime.date) -> None:
    if NeedsSurvey.objects.filter(place=street, title=SURVEY_TITLE).exists():
        return
    survey = survey_services.survey_create(
        actor=staff,
        place=street,
        title=SURVEY_TITLE,
        intro=SURVEY_INTRO,
        targets=[street],
        topics=[t for t, _k in SURVEY_TOPICS],
        opens_on=today - datetime.timedelta(days=20),
        closes_on=today,
    )
    survey_services.survey_open(actor=staff, survey=survey)
    topics = [t for t, _k in SURVEY_TOPICS]
    for resident in _respondents(rng, street):
        user = _account(resident)
        if user is None:
            continue
        picked = set(rng.choices(topics, weights=_topic_weights(resident, today.year), k=rng.randint(1, 3)))
        young = (resident.birth_year or 1970) >= 1980
        times = rng.sample(["weekday_evening", "weekend_day"] if young else ["weekday_day", "weekend_day"], k=1)
        places = rng.sample(["community_room", "street_school", "learning_space", "online"], k=rng.randint(1, 2))
        _response, made = survey_services.survey_answer(
            user=user,
            survey=survey,
            topics=[t for t in topics if t in picked],
            times=times,
            places=places,
            other=rng.choice(("", "", "希望晚上也有课", "希望有人帮忙照看孩子", "最好能在家门口上课")),
        )
        summary.survey_answers += made
    survey_services.survey_close(actor=staff, survey=survey)
    counts: dict[str, int] = defaultdict(int)
    for their_topics in survey.responses.values_list("topics", flat=True):
        for topic in their_topics:
            counts[topic] += 1
    kinds = dict(SURVEY_TOPICS)
    top = sorted(counts, key=lambda t: (-counts[t], topics.index(t) if t in topics else 99))[:SURVEY_NEED_TOPICS]
    made_needs = survey_services.survey_needs_create(
        actor=staff, survey=survey, topics=[(t, kinds.get(t, "course")) for t in top], min_count=SURVEY_MIN_COUNT
    )
    summary.survey_needs += len(made_needs)
    topic, community_code, resource_ref = SURVEY_MATCH
    survey_needs = Need.objects.filter(survey=survey, title=topic)
    need = survey_needs.filter(community_id=community_code).first() or survey_needs.order_by("community_id").first()
    resource = Resource.objects.filter(ref=resource_ref).first()
    if need is not None and resource is not None and need.status == NeedStatus.OPEN:
        need_services.need_match(actor=staff, need=need, resource=resource)
        summary.matches += 1


# --- all of it ----------------------------------------------------------------------------------------------------


@transaction.atomic
def demo_link_ensure(*, now: datetime.datetime | None = None, seed: int = DEFAULT_SEED) -> LinkSummary:
    """Build the link demo (idempotent, seeded). Needs the imported demo files and the demo logins.

    ``now`` places the bookings, lectures, survey and report (default: the real time). The services check their own
    rules against the real date (bookings from today on, survey answers while open)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    summary = LinkSummary()
    wanted = {JIUBAO, CAIHE, JIUBAO_COMMUNITY, *(s[0] for s in SPACES)}
    places = {p.code: p for p in Place.objects.filter(code__in=wanted)}
    if not {JIUBAO, CAIHE, JIUBAO_COMMUNITY} <= set(places):
        raise LookupError("demo places missing (import the demo files first)")
    staff_of = {JIUBAO: _user(JIUBAO_STAFF_PHONE), CAIHE: _user(CAIHE_STAFF_PHONE)}
    worker = _user(COMMUNITY_WORKER_PHONE)
    if staff_of[JIUBAO] is None or staff_of[CAIHE] is None or worker is None:
        summary.notes.append("demo logins missing: link demo skipped (run demo_accounts_ensure first)")
        return summary
    staff: dict[str, User] = {code: user for code, user in staff_of.items() if user is not None}
    if not Provider.objects.filter(ref=BANK_REF).exists():
        summary.notes.append("demo providers missing: link demo skipped (import the demo files first)")
        return summary

    _details(summary)
    partners = _partners(summary, places)
    _pairings(summary, places, staff, partners)
    _fulfilments(summary, _rng(seed, "ratings"), staff)
    _login_need(summary, worker, places[JIUBAO_COMMUNITY])
    spaces = _spaces(summary, places, staff)
    _bookings(summary, spaces, today, now, partners)
    _survey(summary, _rng(seed, "survey"), places[JIUBAO], staff[JIUBAO], today)
    _resident_report(summary, places[JIUBAO_COMMUNITY], today)
    return summary
