"""The credentials side of the demo (学 credentials), built through the services after the learning demo.

(a) The Shangcheng "star-rated parent licence" (星级家长执照) of SPEC.md, issued by 上城区: five levels 一星…五星 whose
criteria are declared (sessions of the 科学育儿 / 隔代教养 series attended, online tests passed, points — overall and
within a series —, the level below held). Two question banks of 九堡街道 (科学育儿, 隔代教养) with an online test each,
open. A dozen 九堡 residents who came to those series' courses took the tests (a few failed once and passed the second
time), earned points for their attendance, and claimed the certificates they were eligible for, up to the level their
record reaches; one more was issued a certificate by staff at the desk (paper records), and one certificate was
revoked with a reason. The demo logins: 13900000011 passed the 科学育儿 test and holds 一星 — the 隔代教养 test is all
that is missing for 二星 (they can take it now); 13900000012 came to two 科学育儿 sessions, passed the test, and is
eligible for 一星 but has not claimed it.

(b) The 好婆婆 star ratings for 2025 (the Fuxi 星级评定标准 of SPEC.md, here for 好婆婆学堂 in 九堡社区): a declared
standard (attendance, volunteer hours, the teachers' assessment and the members' peer assessment), scores by the
education-centre staff, the community worker and fellow members, the proposals computed, reviewed — two changed with a
note — and published: members see their stars under 我的星级, and the list of starred members (masked names) is public.

Points in 2025 are not a criterion of the demo standard: the demo's points are credited when it is seeded, so none
fall in 2025 (a real standard would count them; see docs/star-ratings.md).

Idempotent and seeded: everything is found by its name or ref before it is made; residents who already took a test,
hold or held a certificate, or were scored are left as they are; a published standard is not touched.
"""

from __future__ import annotations

import datetime
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from gongzhi.activities.models import ActivityKind, Attendance, AttendanceSource, AttendanceStatus
from gongzhi.activities.services import attendance_record
from gongzhi.core.errors import DomainError
from gongzhi.learning import services as learning
from gongzhi.learning.credentials import certificates as certs
from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.selectors import level_eligibility
from gongzhi.learning.models import (
    Certificate,
    CourseSession,
    CredentialLevel,
    CredentialProgramme,
    OnlineTest,
    OnlineTestAttempt,
    OnlineTestStatus,
    ProgrammeStatus,
    Question,
    QuestionBank,
    Series,
    StarAssessment,
    StarRating,
    StarRatingStatus,
    StarStandard,
    StarStandardStatus,
)
from gongzhi.learning.stars import selectors as star_selectors
from gongzhi.learning.stars import services as stars
from gongzhi.learning.testing import services as testing
from gongzhi.organizations.models import Organization
from gongzhi.people.models import Resident, User
from gongzhi.places import codes
from gongzhi.places.models import Place

from .demo import DEMO_RESIDENT_PHONES, DISTRICT, HAOPOPO_REF, JIUBAO, JIUBAO_COMMUNITY

SEED = 2025
YEAR = 2025
ADMIN_PHONE = "13900000001"  # 上城区: manages the programme, issues and revokes certificates
STREET_STAFF_PHONE = "13900000002"  # 九堡街道 education centre: question banks, tests, the 好婆婆 standard
WORKER_PHONE = "13900000004"  # 九堡社区 community worker
LOGIN_AT_LEVEL_1, LOGIN_ELIGIBLE = DEMO_RESIDENT_PHONES  # 13900000011, 13900000012

PROGRAMME_NAME = "星级家长执照"
PROGRAMME_DESCRIPTION = (
    "上城区社区教育委员会联合企业、社会组织开展的家长教育：线上学习、线下培训、积分累计、线上测试、证书领取。"
    "从一星到五星逐级认证，证书有效期两年。"
)
VALIDITY_MONTHS = 24
SCIENCE, GRANDPARENTING = "科学育儿", "隔代教养"

# (kind, text, choices, answer, explanation)
QuestionRow = tuple[str, str, list[str], list[int], str]
TF = ["正确", "错误"]
QUESTIONS: dict[str, list[QuestionRow]] = {
    SCIENCE: [
        ("single", "婴儿满几个月后开始添加辅食比较合适？", ["满 2 个月", "满 6 个月左右", "满 1 岁", "越早越好"], [1],
         "膳食指南建议纯母乳喂养至 6 个月左右，之后在继续母乳喂养的基础上添加辅食。"),
        ("true_false", "婴儿哭闹时，摇晃安抚越用力越有效。", TF, [1],
         "剧烈摇晃可能造成婴儿摇晃综合征，损伤大脑。应抱起轻拍、轻声安抚。"),
        ("multiple", "以下哪些做法有助于预防婴幼儿意外伤害？",
         ["药品放在孩子够不到的地方", "插座加装保护盖", "洗澡时暂时离开一会儿接电话", "乘车使用儿童安全座椅"], [0, 1, 3],
         "洗澡时任何时候都不能让婴幼儿离开大人的视线。"),
        ("single", "1 岁以内的婴儿每天一般需要补充多少维生素 D？",
         ["不需要补充", "400 国际单位左右", "4000 国际单位", "只晒太阳就够了"], [1], "按医生建议，一般每天 400 国际单位。"),
        ("true_false", "给孩子看手机视频可以代替亲子阅读。", TF, [1], "亲子阅读中的交流和回应是屏幕代替不了的。"),
        ("single", "孩子发烧到 38.5℃ 以上且精神不好，首先应该：",
         ["立即用酒精擦身", "按说明给退热药并观察，必要时就医", "捂被子发汗", "给孩子吃抗生素"], [1],
         "酒精擦身和捂汗都不安全；抗生素须由医生判断。"),
        ("multiple", "和婴幼儿互动时，哪些方式有利于语言发展？",
         ["经常和孩子说话，描述正在做的事", "一起看图画书", "孩子说错时严厉纠正", "回应孩子的咿呀声和手势"], [0, 1, 3],
         "多说、多读、多回应；严厉纠正会让孩子不敢开口。"),
        ("true_false", "2 岁以下的孩子最好不看电子屏幕（视频通话除外）。", TF, [0], "这是儿科的普遍建议。"),
    ],
    GRANDPARENTING: [
        ("single", "祖辈和父母的教育观念不一致时，比较好的做法是：",
         ["当着孩子的面争论谁对", "私下沟通，统一规矩后再告诉孩子", "各管各的", "让孩子自己选听谁的"], [1],
         "大人先统一，孩子才有一致的规矩。"),
        ("true_false", "孩子摔倒时立刻抱起来哄，是最好的鼓励方式。", TF, [1],
         "先观察有没有受伤，再鼓励孩子自己爬起来，培养抗挫折能力。"),
        ("multiple", "以下哪些做法有助于培养孩子的自理能力？",
         ["让孩子自己吃饭，即使会弄脏衣服", "替孩子收拾好所有玩具", "鼓励孩子自己穿脱简单的衣服", "让孩子参与简单家务"],
         [0, 2, 3], "包办代替会让孩子失去练习的机会。"),
        ("single", "孩子哭闹着要买玩具，祖辈比较合适的回应是：",
         ["马上买，别让孩子哭", "平静说明规则，等孩子情绪稳定后再讲道理", "吓唬孩子", "一直不理睬，事后也不解释"], [1],
         "先接纳情绪，再讲规则。"),
        ("true_false", "用零食作为奖励，是培养好习惯的好方法。", TF, [1], "食物奖励容易养成不良饮食习惯，可以用陪伴和表扬代替。"),
        ("multiple", "祖辈带孙辈时，哪些安全习惯需要注意？",
         ["过马路牵好孩子的手", "药品和清洁剂放高处并上锁", "让孩子单独在阳台玩耍", "不给 3 岁以下孩子吃整颗坚果"], [0, 1, 3],
         "阳台、窗边必须有大人看护。"),
        ("true_false", "祖辈可以多和孩子分享家庭故事和传统文化。", TF, [0], "这是祖辈带孙辈的独特优势。"),
        ("single", "孩子上幼儿园前有分离焦虑，祖辈可以：",
         ["趁孩子不注意偷偷离开", "提前讲幼儿园的事，告别时温和而坚定", "答应孩子不去了", "批评孩子胆小"], [1],
         "偷偷离开会让孩子更没有安全感。"),
    ],
}  # fmt: skip
BANK_NAMES = {SCIENCE: "科学育儿题库", GRANDPARENTING: "隔代教养题库"}
TEST_TITLES = {SCIENCE: "科学育儿知识测试", GRANDPARENTING: "隔代教养知识测试"}
FROM_2025 = {"from": f"{YEAR}-01-01"}
# How many other residents take part, and the level each aims at (by how much they came to the series' courses).
CANDIDATES = 12
TARGETS = (4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1)
REVOKE_REASON = "经核实，部分课程出勤为他人代签，撤销证书"
ISSUE_NOTE = "纸质学习记录核实后补发（本人不使用手机）"

# --- the 好婆婆 standard ----------------------------------------------------------------------------------------------

STANDARD_NAME = "好婆婆学堂星级学员评定"
STANDARD_CRITERIA: list[dict[str, Any]] = [
    {"code": "attendance", "name": "学习出勤", "weight": 0.4, "source": "attendance", "target": 24},
    {"code": "service", "name": "志愿服务", "weight": 0.2, "source": "volunteer_hours", "target": 10},
    {"code": "teacher", "name": "教师评议", "weight": 0.3, "source": "assessment", "target": 100, "by": "staff"},
    {"code": "peer", "name": "同伴互评", "weight": 0.1, "source": "assessment", "target": 100, "by": "peer"},
]
STANDARD_THRESHOLDS = [30, 45, 60, 75, 88]
PEERS_PER_LOGIN = 40  # in the classroom's peer-review session the members with the app score everyone
# (place in the computed list, from the top, change in stars, the reviewer's note)
REVIEW_CHANGES: tuple[tuple[int, int, str], ...] = (
    (1, -1, "经核实有两次请他人代签到，下调一星"),
    (-1, +1, "下半年因照顾生病的家人缺课，本人已说明情况，经学堂讨论上调一星"),
)


@dataclass
class CredentialsSummary:
    banks: int = 0
    questions: int = 0
    tests: int = 0
    attempts: int = 0
    levels: int = 0
    certificates: int = 0
    revoked: int = 0
    holders: dict[int, int] = field(default_factory=dict)  # rank → valid certificates
    standard_created: bool = False
    assessments: int = 0
    ratings: int = 0
    changed_reviews: int = 0
    published: bool = False
    notes: list[str] = field(default_factory=list)


def _user(phone: str) -> User | None:
    return User.objects.filter(phone=phone).first()


def _resident(phone: str) -> Resident | None:
    return Resident.objects.filter(phone=phone).select_related("user", "community").first()


@transaction.atomic
def demo_credentials_ensure(*, now: datetime.datetime | None = None) -> CredentialsSummary:
    """The parent-licence programme with its tests and holders, and the published 好婆婆 star ratings of 2025."""
    now = now or timezone.now()
    summary = CredentialsSummary()
    places = {p.code: p for p in Place.objects.filter(code__in=[DISTRICT, JIUBAO, JIUBAO_COMMUNITY])}
    if len(places) < 3:
        raise LookupError("demo places missing (import the demo files first)")
    admin, staff, worker = _user(ADMIN_PHONE), _user(STREET_STAFF_PHONE), _user(WORKER_PHONE)
    if admin is None or staff is None or worker is None:
        raise LookupError("demo logins missing (run demo_accounts first)")
    series = {s.name: s for s in Series.objects.filter(place_id=JIUBAO, name__in=[SCIENCE, GRANDPARENTING])}
    if len(series) < 2:
        raise LookupError("the 好婆婆 series are missing (run demo_learning first)")
    rng = random.Random(SEED)
    tests = {name: _test(places[JIUBAO], staff, series[name], name, summary) for name in (SCIENCE, GRANDPARENTING)}
    programme, levels = _programme(places[DISTRICT], admin, series, summary)
    today = timezone.localtime(now).date()
    _candidates(programme, levels, tests, series, admin, today, rng, summary)
    _demo_logins(levels, tests, series, staff, today, rng, summary)
    summary.holders = dict(
        Counter(Certificate.objects.filter(programme=programme, status="valid").values_list("level__rank", flat=True))
    )
    _star_ratings(places[JIUBAO], staff, worker, now, rng, summary)
    return summary


# --- (a) tests --------------------------------------------------------------------------------------------------------


def _test(place: Place, staff: User, series: Series, name: str, summary: CredentialsSummary) -> OnlineTest:
    bank = QuestionBank.objects.filter(place=place, name=BANK_NAMES[name]).first()
    if bank is None:
        bank = testing.question_bank_create(actor=staff, place=place, name=BANK_NAMES[name], series=series)
        summary.banks += 1
    if not Question.objects.filter(bank=bank).exists():
        for kind, text, choices, answer, explanation in QUESTIONS[name]:
            testing.question_create(
                actor=staff, bank=bank, kind=kind, text=text, choices=choices, answer=answer, explanation=explanation
            )
            summary.questions += 1
    test = OnlineTest.objects.filter(place=place, title=TEST_TITLES[name]).first()
    if test is None:
        test = testing.online_test_create(
            actor=staff,
            place=place,
            bank=bank,
            series=series,
            settings=testing.OnlineTestSettings(
                title=TEST_TITLES[name], question_count=5, time_limit_minutes=20, pass_mark=60, attempts_allowed=3
            ),
        )
        summary.tests += 1
    if test.status != OnlineTestStatus.OPEN:
        test = testing.online_test_set_status(actor=staff, test=test, status=OnlineTestStatus.OPEN)
    return test


def _take(resident: Resident, test: OnlineTest, *, fail_first: bool, summary: CredentialsSummary) -> bool:
    """The resident takes the test until they pass (failing the first attempt when ``fail_first``); whether they
    passed. A resident who passed before takes nothing."""
    done = OnlineTestAttempt.objects.filter(test=test, resident=resident, submitted_at__isnull=False)
    if done.filter(passed=True).exists():
        return True
    fail = fail_first and not done.exists()
    while OnlineTestAttempt.objects.filter(test=test, resident=resident).count() < test.attempts_allowed or (
        OnlineTestAttempt.objects.filter(test=test, resident=resident, submitted_at__isnull=True).exists()
    ):
        attempt = testing.attempt_start(resident=resident, test=test)
        keys = dict(Question.objects.filter(pk__in=attempt.question_ids).values_list("pk", "answer"))
        sheet: dict[str, list[int]] = {}
        for n, qid in enumerate(attempt.question_ids):
            order = attempt.option_orders[qid]
            right = [order.index(i) for i in keys[_uuid(qid)]]
            if fail and n < 3:  # three of five wrong: 40 %, below the pass mark
                right = [next(p for p in range(len(order)) if p not in right)]
            sheet[qid] = right
        result = testing.attempt_submit(resident=resident, attempt=attempt, answers=sheet)
        summary.attempts += 1
        if result.passed:
            return True
        fail = False
    return False


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


# --- (a) the programme ------------------------------------------------------------------------------------------------


def _criteria(series: dict[str, Series]) -> dict[int, tuple[str, str, dict[str, Any]]]:
    sci, gen = str(series[SCIENCE].pk), str(series[GRANDPARENTING].pk)
    return {
        1: ("一星家长", "参加科学育儿或隔代教养课程 2 次以上，并通过科学育儿知识测试", {"all": [
            {"any": [{"kind": "sessions_attended", "min": 2, "series": sci},
                     {"kind": "sessions_attended", "min": 2, "series": gen}]},
            {"kind": "tests_passed", "min": 1, "series": sci},
        ]}),
        2: ("二星家长", "持有一星；2025 年起参加课程 4 次、积分 40 分以上，通过两项测试", {"all": [
            {"kind": "level_held", "rank": 1},
            {"kind": "sessions_attended", "min": 4, "window": FROM_2025},
            {"kind": "tests_passed", "min": 2},
            {"kind": "points", "min": 40, "window": FROM_2025},
        ]}),
        3: ("三星家长", "持有二星；参加课程 8 次、完成 1 门课程，科学育儿或隔代教养系列积分 50 分以上", {"all": [
            {"kind": "level_held", "rank": 2},
            {"kind": "sessions_attended", "min": 8, "window": FROM_2025},
            {"kind": "courses_completed", "min": 1},
            {"any": [{"kind": "points", "min": 50, "series": sci}, {"kind": "points", "min": 50, "series": gen}]},
        ]}),
        4: ("四星家长", "持有三星；参加课程 12 次、完成 2 门课程，积分 80 分以上", {"all": [
            {"kind": "level_held", "rank": 3},
            {"kind": "sessions_attended", "min": 12},
            {"kind": "courses_completed", "min": 2},
            {"kind": "points", "min": 80},
        ]}),
        5: ("五星家长", "持有四星；参加课程 18 次、完成 3 门课程，积分 90 分以上", {"all": [
            {"kind": "level_held", "rank": 4},
            {"kind": "sessions_attended", "min": 18},
            {"kind": "courses_completed", "min": 3},
            {"kind": "points", "min": 90},
        ]}),
    }  # fmt: skip


def _programme(
    place: Place, admin: User, series: dict[str, Series], summary: CredentialsSummary
) -> tuple[CredentialProgramme, dict[int, CredentialLevel]]:
    programme = CredentialProgramme.objects.filter(place=place, name=PROGRAMME_NAME).first()
    if programme is None:
        programme = programmes.programme_create(
            actor=admin,
            place=place,
            name=PROGRAMME_NAME,
            description=PROGRAMME_DESCRIPTION,
            validity_months=VALIDITY_MONTHS,
        )
    levels = {lv.rank: lv for lv in CredentialLevel.objects.filter(programme=programme)}
    for rank, (name, description, tree) in sorted(_criteria(series).items()):
        if rank not in levels:
            levels[rank] = programmes.level_create(
                actor=admin, programme=programme, rank=rank, name=name, description=description, criteria=tree
            )
            summary.levels += 1
    if programme.status != ProgrammeStatus.ACTIVE:
        programme = programmes.programme_activate(actor=admin, programme=programme)
    for level in levels.values():
        level.programme = programme
    return programme, levels


def _claim_up_to(
    resident: Resident, levels: dict[int, CredentialLevel], target: int, today: datetime.date,
    summary: CredentialsSummary,
) -> int:  # fmt: skip
    """Claim the levels the resident is eligible for, from one star up to ``target``; the highest held."""
    held = 0
    for rank in range(1, target + 1):
        level = levels[rank]
        if Certificate.objects.filter(resident=resident, level=level).exists():
            if not Certificate.objects.filter(resident=resident, level=level, status="valid").exists():
                break  # revoked: the next levels are out of reach
            held = rank
            continue
        if not level_eligibility(resident=resident, level=level, today=today).met:
            break
        certs.certificate_claim(resident=resident, level=level, actor=resident.user, today=today)
        summary.certificates += 1
        held = rank
    return held


def _series_attendance(resident_ids: list[Any] | None, series: dict[str, Series]) -> Any:
    qs = Attendance.objects.filter(
        status=AttendanceStatus.PRESENT,
        activity__course_session__course__series__in=list(series.values()),
        activity__place__code__startswith=codes.prefix_of(JIUBAO),
    )
    return qs if resident_ids is None else qs.filter(resident_id__in=resident_ids)


def _award_attendance_points(resident: Resident, series: dict[str, Series]) -> None:
    """Points for the resident's first three sessions of the series (their main one first) and first four
    learning-community meetings — always the same sources, so running again awards nothing new."""
    mine = list(
        _series_attendance([resident.pk], series)
        .select_related("activity__course_session__course")
        .order_by("activity__starts_at", "activity__ref")
    )
    by_series = Counter(a.activity.course_session.course.series_id for a in mine)
    main = by_series.most_common(1)[0][0] if by_series else None
    sessions = [a for a in mine if a.activity.course_session.course.series_id == main][:3]
    meetings = list(
        Attendance.objects.filter(
            resident=resident, status=AttendanceStatus.PRESENT, activity__kind=ActivityKind.LEARNING_MEETING
        )
        .select_related("activity")
        .order_by("activity__starts_at", "activity__ref")[:4]
    )
    for rule, rows in (("attend_course_session", sessions), ("attend_learning_meeting", meetings)):
        for attendance in rows:
            learning.points_award(
                resident=resident,
                rule_code=rule,
                source_type="attendance",
                source_id=str(attendance.pk),
                reason=attendance.activity.title,
            )


def _candidates(
    programme: CredentialProgramme,
    levels: dict[int, CredentialLevel],
    tests: dict[str, OnlineTest],
    series: dict[str, Series],
    admin: User,
    today: datetime.date,
    rng: random.Random,
    summary: CredentialsSummary,
) -> None:
    """九堡 residents who came most to the series' courses take the tests and claim what they reach."""
    counts = Counter(
        _series_attendance(None, series)
        .exclude(resident__phone__in=DEMO_RESIDENT_PHONES)
        .filter(resident__left_on__isnull=True, resident__erased_at__isnull=True)
        .values_list("resident_id", flat=True)
    )
    ranked = sorted((rid for rid, n in counts.items() if n >= 2), key=lambda rid: (-counts[rid], str(rid)))
    residents = {r.pk: r for r in Resident.objects.filter(pk__in=ranked).select_related("user", "community")}
    chosen = [residents[rid] for rid in ranked if residents[rid].community_id.startswith(codes.prefix_of(JIUBAO))]
    chosen = chosen[: len(TARGETS) + 1]
    if len(chosen) < 3:
        summary.notes.append(f"星级家长执照：只有 {len(chosen)} 位居民参加过系列课程，持证人较少")
    ones: list[Resident] = []
    for i, resident in enumerate(chosen):
        if i == len(TARGETS):  # the last one: issued by staff at the desk (paper records), not claimed
            if not Certificate.objects.filter(resident=resident, level=levels[1]).exists():
                certs.certificate_issue(actor=admin, resident=resident, level=levels[1], note=ISSUE_NOTE, today=today)
                summary.certificates += 1
            continue
        target = TARGETS[i]
        fail_first = rng.random() < 0.3
        if not _take(resident, tests[SCIENCE], fail_first=fail_first, summary=summary):
            continue
        if target >= 2:
            _take(resident, tests[GRANDPARENTING], fail_first=False, summary=summary)
        _award_attendance_points(resident, series)
        if _claim_up_to(resident, levels, target, today, summary) == 1 and target == 1:
            ones.append(resident)
    # One certificate revoked with a reason: the last one-star holder's (once).
    if ones and not Certificate.objects.filter(programme=programme, status="revoked").exists():
        certificate = Certificate.objects.get(resident=ones[-1], level=levels[1], status="valid")
        certs.certificate_revoke(actor=admin, certificate=certificate, reason=REVOKE_REASON)
        summary.revoked += 1


def _attend_series_sessions(resident: Resident, series: Series, want: int, staff: User) -> None:
    """Make sure the resident was present at ``want`` sessions of the series in 2025 (a paper sheet entered by the
    education centre for sessions they came to without scanning)."""
    have = _series_attendance([resident.pk], {series.name: series}).count()
    if have >= want:
        return
    sessions = (
        CourseSession.objects.filter(
            course__series=series,
            activity__starts_at__year=YEAR,
            activity__starts_at__lt=timezone.now(),
            activity__place__code__startswith=codes.prefix_of(JIUBAO),
        )
        .exclude(activity__attendances__resident=resident, activity__attendances__status=AttendanceStatus.PRESENT)
        .select_related("activity")
        .order_by("activity__starts_at", "activity__ref")
    )
    for session in sessions[: want - have]:
        attendance_record(actor=staff, activity=session.activity, resident=resident, source=AttendanceSource.PAPER)


def _demo_logins(
    levels: dict[int, CredentialLevel],
    tests: dict[str, OnlineTest],
    series: dict[str, Series],
    staff: User,
    today: datetime.date,
    rng: random.Random,
    summary: CredentialsSummary,
) -> None:
    one, eligible = _resident(LOGIN_AT_LEVEL_1), _resident(LOGIN_ELIGIBLE)
    if one is not None:
        _attend_series_sessions(one, series[SCIENCE], 4, staff)
        _take(one, tests[SCIENCE], fail_first=True, summary=summary)
        if not Certificate.objects.filter(resident=one, level=levels[1]).exists():
            if level_eligibility(resident=one, level=levels[1], today=today).met:
                certs.certificate_claim(resident=one, level=levels[1], actor=one.user, today=today)
                summary.certificates += 1
            else:
                summary.notes.append(f"星级家长执照：{LOGIN_AT_LEVEL_1} 未达到一星条件")
        missing = [
            leaf.label for leaf in level_eligibility(resident=one, level=levels[2], today=today).leaves if not leaf.met
        ]
        if len(missing) != 1:
            summary.notes.append(f"星级家长执照：{LOGIN_AT_LEVEL_1} 距二星还差 {len(missing)} 项：{'；'.join(missing)}")
    if eligible is not None:
        _attend_series_sessions(eligible, series[SCIENCE], 2, staff)
        _take(eligible, tests[SCIENCE], fail_first=False, summary=summary)
        if not level_eligibility(resident=eligible, level=levels[1], today=today).met:
            summary.notes.append(f"星级家长执照：{LOGIN_ELIGIBLE} 未达到一星条件")


# --- (b) the 好婆婆 star ratings ------------------------------------------------------------------------------------


def _teacher_score(attendance: int, rng: random.Random) -> int:
    """Teachers score the members who come more a little higher; 60–98."""
    return max(60, min(98, 60 + min(attendance, 36) + rng.randint(-6, 6)))


def _star_ratings(
    street: Place, staff: User, worker: User, now: datetime.datetime, rng: random.Random, summary: CredentialsSummary
) -> None:
    if not Organization.objects.filter(ref=HAOPOPO_REF).exists():
        summary.notes.append("星级评定：找不到好婆婆学堂，跳过")
        return
    standard = StarStandard.objects.filter(place=street, year=YEAR, name=STANDARD_NAME).first()
    if standard is None:
        standard = stars.star_standard_create(
            actor=staff,
            place=street,
            year=YEAR,
            name=STANDARD_NAME,
            criteria=STANDARD_CRITERIA,
            thresholds=STANDARD_THRESHOLDS,
            organization_ref=HAOPOPO_REF,
        )
        summary.standard_created = True
    if standard.status == StarStandardStatus.PUBLISHED:
        return
    if standard.status == StarStandardStatus.DRAFT:
        standard, _changed = stars.star_standard_activate(actor=staff, standard=standard)
    members = list(star_selectors.scope_residents(standard).select_related("user", "community").order_by("ref"))
    if not members:
        summary.notes.append("星级评定：好婆婆学堂 2025 年没有成员，跳过")
        return
    attendance = {
        rid: facts.attendance for rid, facts in star_selectors.standard_facts(standard, [m.pk for m in members]).items()
    }
    scored = set(
        StarAssessment.objects.filter(standard=standard).values_list("resident_id", "criterion", "assessor_id")
    )

    def score(actor: User, resident: Resident, criterion: str, value: int, comment: str = "") -> None:
        if (resident.pk, criterion, actor.pk) in scored or resident.user_id == actor.pk:
            return
        try:
            stars.star_assessment_submit(
                actor=actor, standard=standard, resident=resident, criterion=criterion, score=value, comment=comment
            )
        except DomainError as exc:
            summary.notes.append(f"星级评定：{resident.ref} {criterion} 未评分（{exc.message}）")
            return
        summary.assessments += 1

    for m in members:  # the education centre's teacher assessment of every member
        score(staff, m, "teacher", _teacher_score(attendance.get(m.pk, 0), rng))
    for m in [m for m in members if m.community_id == JIUBAO_COMMUNITY][:5]:  # the community worker's, for a few
        score(worker, m, "teacher", _teacher_score(attendance.get(m.pk, 0), rng), "社区走访了解")
    for login in [m for m in members if m.phone in DEMO_RESIDENT_PHONES]:  # members with the app score the others
        if login.user is None:
            continue
        fellows = star_selectors.assessable_residents(user=login.user, standard=standard, as_peer=True)
        for m in fellows[:PEERS_PER_LOGIN]:
            score(login.user, m, "peer", rng.choice((80, 85, 90, 95, 100)))
    stars.star_ratings_compute(actor=staff, standard=standard, now=now)
    ratings = list(
        StarRating.objects.filter(standard=standard).select_related("resident").order_by("-score", "resident__ref")
    )
    summary.ratings = len(ratings)
    ratings = [r for r in ratings if r.resident.phone not in DEMO_RESIDENT_PHONES]  # the demo logins keep theirs
    done: set[int] = set()
    for position, change, note in REVIEW_CHANGES:
        index = position if position >= 0 else len(ratings) + position
        if not 0 <= index < len(ratings) or index in done:
            continue
        done.add(index)
        rating = ratings[index]
        final = max(0, min(5, rating.proposed_stars + change))
        if rating.status != StarRatingStatus.PROPOSED or final == rating.proposed_stars:
            continue
        stars.star_rating_review(actor=staff, rating=rating, stars=final, note=note, now=now)
        summary.changed_reviews += 1
    stars.star_ratings_approve_all(actor=staff, standard=standard, now=now)
    __, summary.published = stars.star_standard_publish(actor=staff, standard=standard, now=now)
