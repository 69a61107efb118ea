"""The demo data generator: a believable slice of Hangzhou's Shangcheng district, written as interchange files.

The demo goes in through the same door as real data: this module writes a CSV folder, and ``seed_demo`` imports it
with ``import_data``. Same seed → byte-identical files.

The world: 浙江省 → 杭州市 → 上城区, two streets named after the paper's places — 九堡街道 (Jiubao, where migrants'
organisations were incubated: ~45 % new citizens) and 采荷街道 (Caihe, an older settled area: ~15 %) — with four
communities each, and a few thousand residents (older-skewed ages, Chinese names, most with a mobile number, ~20 % with
an ID number under 330102, ~3 % moved out).

Two years, 2024 and 2025 (2025 is the demo's "now": ``TODAY`` is its last day), so that every dashboard has a trend and
retention a previous period. Communities differ in believable ways, written down once in ``PROFILES``: each community
has a story and, per year, how much education it offers, how active its organisations are, how much its residents
deliberate, how often outside resources come in, how much locals and new citizens meet, and how many answered the
social-capital survey. 洁莲社区 is strong in learning but has few organisations; 芙蓉社区 is rich in outside resources;
双桥社区 has almost none; in 客运中心社区 (by the coach station, mostly new citizens) locals and new citizens rarely
meet; most communities grow from 2024 to 2025 (the education work builds capital), 观音塘社区 declines (a learning
community folded, a council lost its core). The year-bound steps (activities, attendance, issues, their actions, needs,
survey answers) run once per year with these intensities; nothing is duplicated per year.

Adding a file: write a step ``def <file>_file(world, rng) -> OutTable`` and append it to ``STEPS``. A step may read
what earlier steps put in ``world`` (places, residents …) and add its own entities for later steps. Each step draws
from its own random stream (seeded with the seed and the step's name), so a new step never changes the files of the
existing ones.
"""

from __future__ import annotations

import datetime
import math
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gongzhi.analytics.survey.instrument import ITEMS as SURVEY_ITEMS
from gongzhi.analytics.survey.instrument import SCALES as SURVEY_SCALES
from gongzhi.people.protection import id_check_digit

from .writers import OutTable, write_tables

DEFAULT_SEED = 2026
DEFAULT_RESIDENTS = 3600

PROVINCE = "330000000000"
CITY = "330100000000"
DISTRICT = "330102000000"
JIUBAO = "330102011000"
CAIHE = "330102007000"
JIUBAO_COMMUNITY = "330102011001"  # 九堡社区: where the demo community worker and resident logins are

# Phones 139 0000 00xx are kept for demo logins: generated residents never get them, except the two below.
RESERVED_PHONE_PREFIX = "13900000"
DEMO_RESIDENT_PHONES = ("13900000011", "13900000012")

TODAY = datetime.date(2025, 12, 31)  # the demo's "now": data runs to the end of 2025
POPULATION_YEARS = (2024, 2025)

# (code, name, new-citizen share, communities)
STREETS: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    (JIUBAO, "九堡街道", 0.45, ("九堡社区", "客运中心社区", "双桥社区", "杭海路社区")),
    (CAIHE, "采荷街道", 0.15, ("芙蓉社区", "洁莲社区", "青荷社区", "观音塘社区")),
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙朱马胡郭林何高罗"
SURNAME_WEIGHTS = (7.1, 7.0, 6.7, 5.4, 4.5, 3.1, 2.3, 2.2, 2.1, 2.0, 1.7, 1.5, 1.3, 1.2, 1.1, 1.1, 1.0, 1.0, 1.0, 0.9)
GIVEN_FEMALE = "秀英华兰芳丽敏静燕玲娟霞红梅琴雪婷颖欣怡佳雨晨萱悦洁慧淑凤桂美春月莉萍"
GIVEN_MALE = "伟强军磊洋勇杰涛明超刚平辉鹏飞鑫波斌宇浩凯健俊帆博文国建志荣峰成林海"
MOBILE_PREFIXES = tuple(
    str(n)
    for n in (
        *range(130, 134),
        *range(135, 140),
        *range(150, 154),
        *range(155, 160),
        166,
        173,
        *range(175, 179),
        *range(180, 184),
        *range(185, 190),
        191,
        198,
        199,
    )
)

# Birth-year bands and weights: locals skew older (the people in community classrooms); new citizens are working age.
LOCAL_BIRTH_BANDS = (
    (1935, 1949, 0.12),
    (1950, 1959, 0.2),
    (1960, 1969, 0.2),
    (1970, 1984, 0.19),
    (1985, 1999, 0.16),
    (2000, 2012, 0.13),
)
NEW_CITIZEN_BIRTH_BANDS = ((1955, 1964, 0.05), (1965, 1979, 0.22), (1980, 1994, 0.45), (1995, 2006, 0.28))


@dataclass(frozen=True)
class YearProfile:
    """How a community lived one year, relative to a typical community (1.0) where a factor is relative."""

    learning: float  # education: community-school courses, class sizes, how readily its residents come to classes
    groups: float  # its organisations: how often they meet, how many residents join them and volunteer
    civic: float  # deliberation: issues raised, council turnout, comments and votes, issues closed by due process
    link: float  # the chance (0–1) that one of its own gatherings used an outside venue, fund or volunteer service
    mixing: float  # the chance (0–1) that a gathering draws locals and new citizens alike (else it leans to one group)
    surveyed: float  # the share (0–1) of its adults who answered the social-capital survey that autumn


@dataclass(frozen=True)
class CommunityProfile:
    story: str
    learning_communities: int  # how many learning communities it has (besides 好婆婆学堂 in 九堡社区)
    maturity: float  # the chance that one of its learning communities is at the professional stage
    years: dict[int, YearProfile]
    new_citizen_share: float | None = None  # instead of its street's share
    folds: bool = False  # one of its learning communities folds in the spring of 2025
    quiet_groups: tuple[str, ...] = ()  # organisations of DEMO_GROUPS that held nothing in 2025


# The communities' profiles, by name: the knobs of the demo (change a number here, not the code below).
def _year(learning: float, groups: float, civic: float, link: float, mixing: float, surveyed: float) -> YearProfile:
    return YearProfile(learning, groups, civic, link, mixing, surveyed)


PROFILES: dict[str, CommunityProfile] = {
    # (learning, groups, civic, link, mixing, surveyed) in 2024 and in 2025
    "九堡社区": CommunityProfile(
        "好婆婆学堂的所在地：课程、组织、议事都稳步发展 / home of 好婆婆学堂: steady growth in everything",
        learning_communities=2,
        maturity=0.3,
        years={2024: _year(0.75, 0.9, 0.9, 0.25, 0.55, 0.2), 2025: _year(1.1, 1.15, 1.3, 0.3, 0.65, 0.35)},
    ),
    "客运中心社区": CommunityProfile(
        "客运站旁，新市民占多数，新老居民各有各的圈子 / by the coach station: mostly new citizens, two circles apart",
        learning_communities=2,
        maturity=0.1,
        years={2024: _year(0.65, 0.8, 0.75, 0.2, 0.05, 0.15), 2025: _year(0.9, 0.95, 1.0, 0.25, 0.08, 0.3)},
        new_citizen_share=0.6,
    ),
    "双桥社区": CommunityProfile(
        "几乎没有外部资源：社区学校由社工自己上课，团队在自己的活动室 / almost no outside resources",
        learning_communities=3,
        maturity=0.1,
        years={2024: _year(0.7, 0.9, 0.8, 0.0, 0.45, 0.1), 2025: _year(0.95, 1.0, 1.05, 0.0, 0.5, 0.25)},
    ),
    "杭海路社区": CommunityProfile(
        "老娘舅调解工作室出名，议事活跃 / known for its mediation studio: lively deliberation",
        learning_communities=2,
        maturity=0.2,
        years={2024: _year(0.65, 0.85, 1.0, 0.06, 0.45, 0.2), 2025: _year(0.9, 1.0, 1.25, 0.08, 0.5, 0.3)},
    ),
    "芙蓉社区": CommunityProfile(
        "外部资源丰富：图书馆分馆和商会公益金就在社区 / rich in outside resources: the library branch, the chamber's fund",
        learning_communities=3,
        maturity=0.25,
        years={2024: _year(0.7, 0.9, 0.9, 0.5, 0.75, 0.2), 2025: _year(1.0, 1.05, 1.1, 0.75, 0.85, 0.35)},
    ),
    "洁莲社区": CommunityProfile(
        "学习强、组织弱：社区学校课程多、覆盖广，居民自组织少 / strong in learning, weak in organisations",
        learning_communities=1,
        maturity=0.0,
        years={2024: _year(1.5, 0.4, 0.7, 0.12, 0.5, 0.25), 2025: _year(2.4, 0.35, 0.85, 0.15, 0.55, 0.4)},
        quiet_groups=("洁莲社区邻里互助社",),
    ),
    "青荷社区": CommunityProfile(
        "平稳的中等社区 / an average community, growing slowly",
        learning_communities=2,
        maturity=0.15,
        years={2024: _year(0.65, 0.85, 0.85, 0.08, 0.5, 0.15), 2025: _year(0.95, 1.0, 1.05, 0.1, 0.55, 0.3)},
    ),
    "观音塘社区": CommunityProfile(
        "下滑：一个学习共同体解散，议事会骨干流失 / declining: a learning community folded, the council lost its core",
        learning_communities=2,
        maturity=0.5,
        years={2024: _year(1.1, 1.0, 1.05, 0.12, 0.6, 0.3), 2025: _year(0.5, 0.5, 0.45, 0.04, 0.35, 0.25)},
        folds=True,
    ),
}
TYPICAL_YEAR = YearProfile(1.0, 1.0, 1.0, 0.1, 0.5, 0.25)
TYPICAL = CommunityProfile("", 2, 0.15, {2024: TYPICAL_YEAR, 2025: TYPICAL_YEAR})
# Street-wide organisations grow a little from 2024 to 2025 too.
STREET_GROUPS = {2024: 0.85, 2025: 1.0}


@dataclass
class DemoCommunity:
    code: str
    name: str
    street_code: str
    new_citizen_share: float
    weight: float  # relative size
    profile: CommunityProfile = TYPICAL

    def year(self, year: int) -> YearProfile:
        return self.profile.years.get(year, TYPICAL_YEAR)


@dataclass
class DemoResident:
    ref: str
    community_code: str
    registered_on: datetime.date
    left_on: datetime.date | None
    gender: str
    birth_year: int
    household: str
    name: str
    phone: str
    id_number: str


@dataclass
class DemoWorld:
    """What the steps build and share. Later steps read earlier entities and add their own (``extra`` for anything
    that has no field yet)."""

    seed: int
    residents_wanted: int
    places: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, name, level, parent_code
    communities: list[DemoCommunity] = field(default_factory=list)
    residents: list[DemoResident] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


DemoStep = Callable[[DemoWorld, random.Random], OutTable]


def places_file(world: DemoWorld, rng: random.Random) -> OutTable:
    world.places = [
        (PROVINCE, "浙江省", "province", ""),
        (CITY, "杭州市", "city", PROVINCE),
        (DISTRICT, "上城区", "district", CITY),
    ]
    for street_code, street_name, share, names in STREETS:
        world.places.append((street_code, street_name, "street", DISTRICT))
        for index, name in enumerate(names, start=1):
            code = f"{street_code[:9]}{index:03d}"
            world.places.append((code, name, "community", street_code))
            profile = PROFILES.get(name, TYPICAL)
            own_share = share if profile.new_citizen_share is None else profile.new_citizen_share
            world.communities.append(DemoCommunity(code, name, street_code, own_share, rng.uniform(0.7, 1.3), profile))
    rows = [list(p) for p in sorted(world.places)]
    return OutTable("places.csv", ["code", "name", "level", "parent_code"], rows)


def residents_file(world: DemoWorld, rng: random.Random) -> OutTable:
    communities = sorted(world.communities, key=lambda c: c.code)
    sizes = _apportion(world.residents_wanted, [c.weight for c in communities])
    phones: set[str] = set()
    ids: set[str] = set()
    number = 0
    for community, size in zip(communities, sizes, strict=True):
        for _ in range(size):
            number += 1
            world.residents.append(_resident(rng, f"R{number:05d}", community, phones, ids))
    _assign_demo_login_phones(world)
    columns = [
        "ref",
        "community_code",
        "registered_on",
        "left_on",
        "gender",
        "birth_year",
        "household",
        "name",
        "phone",
        "id_number",
    ]
    rows = [
        [
            r.ref,
            r.community_code,
            r.registered_on.isoformat(),
            r.left_on.isoformat() if r.left_on else "",
            r.gender,
            str(r.birth_year),
            r.household,
            r.name,
            r.phone,
            r.id_number,
        ]
        for r in world.residents
    ]
    return OutTable("residents.csv", columns, rows)


def population_file(world: DemoWorld, rng: random.Random) -> OutTable:
    """The official population, at demo scale: the registered roll at year end plus the unregistered (5–20 %)."""
    rows = []
    for community in sorted(world.communities, key=lambda c: c.code):
        unregistered = rng.uniform(1.05, 1.2)
        members = [r for r in world.residents if r.community_code == community.code]
        for year in POPULATION_YEARS:
            end = datetime.date(year, 12, 31)
            on_roll = sum(1 for r in members if r.registered_on <= end and (r.left_on is None or r.left_on > end))
            population = round(on_roll * unregistered * rng.uniform(0.99, 1.01))
            rows.append([community.code, str(year), str(max(population, on_roll))])
    return OutTable("population.csv", ["community_code", "year", "population"], rows)


# Steps of the 学 learn capability (organisations, memberships, activities, attendance) are defined below.


def build_demo(*, seed: int = DEFAULT_SEED, residents: int = DEFAULT_RESIDENTS) -> tuple[DemoWorld, list[OutTable]]:
    """Run every step; the world they built and the tables to write."""
    world = DemoWorld(seed=seed, residents_wanted=residents)
    tables = [step(world, random.Random(f"gongzhi-demo:{seed}:{step.__name__}")) for step in STEPS]
    return world, tables


def generate_demo(
    path: str | os.PathLike[str], *, seed: int = DEFAULT_SEED, residents: int = DEFAULT_RESIDENTS
) -> dict[str, int]:
    """Write the demo's interchange files into the folder ``path``; returns the rows per file."""
    _, tables = build_demo(seed=seed, residents=residents)
    return write_tables(path, tables)


# --- residents ------------------------------------------------------------------------------------------------


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by ``weights`` (largest remainder), deterministically."""
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    sizes = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(shares[i] - sizes[i]), i))
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _pick_band(rng: random.Random, bands: tuple[tuple[int, int, float], ...]) -> int:
    low, high, _ = rng.choices(bands, weights=[b[2] for b in bands])[0]
    return rng.randint(low, high)


def _date_between(rng: random.Random, start: datetime.date, end: datetime.date, skew: float = 1.0) -> datetime.date:
    """A date in [start, end]; skew > 1 leans towards start, < 1 towards end."""
    span = (end - start).days
    return start + datetime.timedelta(days=round(span * rng.random() ** skew))


def _name(rng: random.Random, gender: str) -> str:
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    pool = GIVEN_FEMALE if gender == "F" else GIVEN_MALE if gender == "M" else GIVEN_FEMALE + GIVEN_MALE
    length = 2 if rng.random() < 0.72 else 1
    return surname + "".join(rng.choice(pool) for _ in range(length))


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if not phone.startswith(RESERVED_PHONE_PREFIX) and phone not in taken:
            taken.add(phone)
            return phone


def _id_number(rng: random.Random, birth_year: int, gender: str, taken: set[str]) -> str:
    """A GB 11643 number registered in 上城区 (330102), born in ``birth_year``; the 17th digit is odd for men."""
    while True:
        born = datetime.date(birth_year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
        sequence = rng.randrange(1000)
        if gender and (sequence % 2 == 1) != (gender == "M"):
            sequence = (sequence + 1) % 1000
        first17 = f"330102{born:%Y%m%d}{sequence:03d}"
        number = first17 + id_check_digit(first17)
        if number not in taken:
            taken.add(number)
            return number


def _resident(rng: random.Random, ref: str, community: DemoCommunity, phones: set[str], ids: set[str]) -> DemoResident:
    new_citizen = rng.random() < community.new_citizen_share
    birth_year = _pick_band(rng, NEW_CITIZEN_BIRTH_BANDS if new_citizen else LOCAL_BIRTH_BANDS)
    gender = rng.choices(("F", "M", ""), weights=(0.54, 0.44, 0.02))[0]
    if new_citizen:
        registered_on = _date_between(rng, datetime.date(2018, 1, 1), datetime.date(2025, 10, 31), skew=0.8)
    else:
        start = max(datetime.date(2012, 1, 1), datetime.date(birth_year, 1, 1))
        registered_on = _date_between(rng, start, datetime.date(2025, 6, 30), skew=1.6)
    left_on = None
    if rng.random() < 0.03 and (TODAY - registered_on).days > 60:
        left_on = _date_between(rng, registered_on + datetime.timedelta(days=60), TODAY)
    age = TODAY.year - birth_year
    phone_share = 0.55 if age >= 75 else 0.1 if age < 16 else 0.93
    phone = _phone(rng, phones) if rng.random() < phone_share else ""
    id_number = _id_number(rng, birth_year, gender, ids) if rng.random() < 0.2 else ""
    return DemoResident(
        ref=ref,
        community_code=community.code,
        registered_on=registered_on,
        left_on=left_on,
        gender=gender,
        birth_year=birth_year,
        household="new_citizen" if new_citizen else "local",
        name=_name(rng, gender),
        phone=phone,
        id_number=id_number,
    )


def _assign_demo_login_phones(world: DemoWorld) -> None:
    """Give the demo resident logins' phones to two adults of 九堡社区: a local and a new citizen."""
    wanted = {"local": (1955, 1985), "new_citizen": (1980, 2000)}
    for household, phone in zip(("local", "new_citizen"), DEMO_RESIDENT_PHONES, strict=True):
        low, high = wanted[household]
        for r in world.residents:
            if (
                r.community_code == JIUBAO_COMMUNITY
                and r.household == household
                and low <= r.birth_year <= high
                and r.left_on is None
                and r.phone
                and r.phone not in DEMO_RESIDENT_PHONES
            ):
                r.phone = phone
                break


# --- 学 learn: organisations, memberships, activities and attendance in 2024 and 2025 ---------------------------
#
# Two years of groups and gatherings. Communities have learning communities (学习共同体: one to three, by their
# profile); 九堡社区 also has 好婆婆学堂, the "good mother-in-law" classroom whose four series (scientific infant care,
# healthy living, in-law communication, grandparenting) are taught centrally at the street and in the communities. A
# few studios, volunteer teams and social organisations complete the picture. Attendance is skewed as in real
# programmes: a small core keeps coming, most people come a few times, some drop out and some start later; locals and
# new citizens meet more in some communities than in others (the profile's ``mixing``).
#
# A course runs once a year: the 2025 edition carries the catalogue's title, an earlier edition adds its year
# (``婴幼儿科学喂养（2024年）``), so that each edition becomes a course of its own when ``demo_learning`` turns the
# imported sessions into courses (``catalogue_title`` gives the catalogue's title back).

YEAR = 2025  # the demo's "now" year: the demo logins' courses, the cases built after the import
YEARS = (2024, 2025)
YEAR_START = datetime.date(YEAR, 1, 1)
HAOPOPO_REF = "O0001"  # 好婆婆学堂
HAOPOPO_NAME = "好婆婆学堂"
HAOPOPO_SERIES: tuple[tuple[str, str], ...] = (
    ("科学育儿", "婴幼儿科学养育的方法与误区，祖辈和父母一起学"),
    ("健康生活", "慢病预防、合理膳食与居家运动"),
    ("婆媳沟通", "两代人如何好好说话：倾听、表达与家庭边界"),
    ("隔代教养", "祖辈带娃的爱与规矩，和年轻父母一起商量"),
)
# (place code, series or "", course title, teacher name, teacher expertise, audience, sessions)
DEMO_COURSES: tuple[tuple[str, str, str, str, str, str, int], ...] = (
    (JIUBAO, "科学育儿", "婴幼儿科学喂养", "陈晓燕", "儿童保健科医生", "0–3 岁婴幼儿的祖辈和父母", 6),
    (JIUBAO, "科学育儿", "早期发展与亲子游戏", "陈晓燕", "儿童保健科医生", "0–6 岁儿童的家长和祖辈", 6),
    (JIUBAO, "健康生活", "慢病预防与合理膳食", "刘建华", "社区卫生服务中心全科医生", "中老年居民", 6),
    (JIUBAO, "健康生活", "八段锦与居家运动", "刘建华", "社区卫生服务中心全科医生", "中老年居民", 6),
    (JIUBAO, "婆媳沟通", "婆媳沟通的艺术", "周丽", "家庭关系咨询师", "婆婆和儿媳，欢迎一起来", 6),
    (JIUBAO, "婆媳沟通", "家庭角色与边界", "周丽", "家庭关系咨询师", "婆婆和儿媳，欢迎一起来", 6),
    (JIUBAO, "隔代教养", "隔代教养中的爱与规矩", "王秀兰", "退休教师、家庭教育指导师", "带孙辈的祖父母", 6),
    (JIUBAO, "隔代教养", "祖辈家长学数字生活", "王秀兰", "退休教师、家庭教育指导师", "带孙辈的祖父母", 6),
    (CAIHE, "", "智能手机轻松学", "李明", "社区学校教师", "60 岁以上居民", 8),
    (CAIHE, "", "老年书法入门", "赵国平", "书法家协会会员", "书法爱好者", 8),
)
# The courses that ran in 2024 already (the classroom started with two series; the phone course is new in 2025).
COURSES_2024 = ("婴幼儿科学喂养", "慢病预防与合理膳食", "婆媳沟通的艺术", "隔代教养中的爱与规矩", "老年书法入门")
DEMO_LECTURES: tuple[tuple[str, str, int], ...] = (  # street, title, times in the year (60–150 people each)
    (JIUBAO, "家庭教育大讲堂", 3),
    (CAIHE, "健康养生大讲堂", 2),
)
COMMUNITY_SCHOOL_TOPICS = (
    "防范电信诈骗",
    "垃圾分类新知",
    "家庭急救",
    "老年营养",
    "手机拍照",
    "法律常识",
    "心理健康",
    "亲子沟通",
)
SCHOOL_SESSIONS = 8
DEMO_LOGIN_SERIES = ("科学育儿", "婆媳沟通")  # the demo resident logins take these series' courses (in 2025)
DEMO_TEACHER_NAME = "周丽"  # the demo teacher login 13900000005 is given this teacher's profile
LC_THEMES = (
    "书画",
    "合唱",
    "太极",
    "读书会",
    "手工编织",
    "智能手机",
    "亲子阅读",
    "越剧",
    "摄影",
    "茶艺",
    "烘焙",
    "垃圾分类",
)
# (place code, kind, name, stage)
DEMO_GROUPS: tuple[tuple[str, str, str, str], ...] = (
    (JIUBAO, "volunteer_team", "九堡街道红马甲志愿服务队", "professional"),
    (CAIHE, "volunteer_team", "采荷街道银龄志愿服务队", "incubating"),
    ("330102011003", "volunteer_team", "双桥社区平安巡防队", "grassroots"),
    ("330102011004", "studio", "杭海路社区老娘舅调解工作室", "professional"),
    ("330102011002", "studio", "客运中心社区新市民之家工作室", "incubating"),
    (JIUBAO, "social_org", "九堡街道新市民互助会", "incubating"),
    (CAIHE, "social_org", "采荷街道社区教育促进会", "self_governing"),
    ("330102007002", "social_org", "洁莲社区邻里互助社", "grassroots"),
)
ENGAGEMENT_LEVELS = ("core", "regular", "occasional", "rare")
ENGAGEMENT_SHARES = (0.06, 0.2, 0.34, 0.4)
ENGAGEMENT_WEIGHT = {"core": 9.0, "regular": 4.0, "occasional": 1.5, "rare": 0.25}
ENGAGEMENT_ATTEND = {"core": 0.88, "regular": 0.6, "occasional": 0.32, "rare": 0.12}
# Deliberation draws on a narrower core than classes do: the same faces at every council and every issue.
CIVIC_WEIGHT = {"core": 30.0, "regular": 6.0, "occasional": 1.0, "rare": 0.1}
APART = 0.02  # the weight of the other group at a gathering (or in a group) that leans to one
EDUCATION_KINDS = ("course_session", "learning_meeting")
EDITION = re.compile(r"（(\d{4})年）$")


def edition_title(title: str, year: int) -> str:
    """The title of a course's edition in ``year``: the catalogue's title in the demo's year, else with the year."""
    return title if year == YEAR else f"{title}（{year}年）"


def catalogue_title(title: str) -> str:
    """The catalogue's title of a course edition (``婴幼儿科学喂养（2024年）`` → ``婴幼儿科学喂养``)."""
    return EDITION.sub("", title)


@dataclass
class DemoOrganization:
    ref: str
    name: str
    place_code: str
    kind: str
    stage: str
    founded_on: datetime.date
    dissolved_on: datetime.date | None = None


@dataclass
class DemoMembership:
    organization_ref: str
    resident_ref: str
    role: str
    joined_on: datetime.date
    left_on: datetime.date | None


@dataclass
class DemoActivity:
    ref: str
    place_code: str
    kind: str
    title: str
    starts_at: datetime.datetime
    organization_ref: str
    size: int  # how many people it means to draw
    course: str = ""  # the course (edition) title of a session
    session: int = 0  # its number in the course

    @property
    def year(self) -> int:
        return self.starts_at.year


SHANGHAI_OFFSET = datetime.timezone(datetime.timedelta(hours=8))


def _scaled(world: DemoWorld, number: float, minimum: int) -> int:
    """A size or count for the default population, scaled down for a smaller demo (never below ``minimum``)."""
    scale = min(1.0, world.residents_wanted / DEFAULT_RESIDENTS)
    return max(minimum, round(number * scale))


def _adult(r: DemoResident, year: int = YEAR) -> bool:
    return year - r.birth_year >= 16


def _on_roll(r: DemoResident, day: datetime.date) -> bool:
    return r.registered_on <= day and (r.left_on is None or r.left_on > day)


def _community_names(world: DemoWorld) -> dict[str, str]:
    return {code: name for code, name, level, _parent in world.places if level in ("street", "community")}


def _community_of(world: DemoWorld) -> dict[str, DemoCommunity]:
    return {c.code: c for c in world.communities}


def _groups_factor(world: DemoWorld, place_code: str, year: int) -> float:
    """How active the organisations of a place were in a year (a street's: ``STREET_GROUPS``)."""
    community = _community_of(world).get(place_code)
    return community.year(year).groups if community else STREET_GROUPS.get(year, 1.0)


def organizations_file(world: DemoWorld, rng: random.Random) -> OutTable:
    names = _community_names(world)
    orgs: list[DemoOrganization] = [
        DemoOrganization(HAOPOPO_REF, HAOPOPO_NAME, JIUBAO_COMMUNITY, "learning_community", "professional",
                         datetime.date(2016, 9, 1)),
    ]  # fmt: skip
    number = 1
    folding: list[DemoOrganization] = []
    for community in sorted(world.communities, key=lambda c: c.code):
        short = community.name.removesuffix("社区")
        profile = community.profile
        for n, theme in enumerate(rng.sample(LC_THEMES, profile.learning_communities)):
            number += 1
            maturity = profile.maturity
            stage = rng.choices(("grassroots", "incubating", "professional"),
                                weights=(0.6 - maturity / 2, 0.4 - maturity / 2, maturity))[0]  # fmt: skip
            founded = _date_between(rng, datetime.date(2017, 1, 1), datetime.date(2025, 5, 31), skew=0.7)
            org = DemoOrganization(f"O{number:04d}", f"{short}{theme}学习共同体", community.code,
                                   "learning_community", stage, founded)  # fmt: skip
            if profile.folds and n == 0:
                # The one that folds in the spring of 2025: a young group, founded a year or two before.
                org.stage = "grassroots"
                org.founded_on = _date_between(rng, datetime.date(2022, 3, 1), datetime.date(2023, 9, 30))
                folding.append(org)
            orgs.append(org)
    for place_code, kind, name, stage in DEMO_GROUPS:
        if place_code not in names:
            continue
        number += 1
        founded = _date_between(rng, datetime.date(2014, 1, 1), datetime.date(2023, 12, 31))
        orgs.append(DemoOrganization(f"O{number:04d}", name, place_code, kind, stage, founded))
    for gone in folding:
        gone.dissolved_on = _date_between(rng, datetime.date(YEAR, 3, 15), datetime.date(YEAR, 5, 31))
    world.extra["organizations"] = orgs
    columns = ["ref", "name", "place_code", "kind", "stage", "founded_on", "dissolved_on"]
    rows = [
        [o.ref, o.name, o.place_code, o.kind, o.stage, o.founded_on.isoformat(),
         o.dissolved_on.isoformat() if o.dissolved_on else ""]
        for o in orgs
    ]  # fmt: skip
    return OutTable("organizations.csv", columns, rows)


def _weighted_sample(rng: random.Random, items: list[Any], weights: list[float], k: int) -> list[Any]:
    """``k`` distinct items, drawn with probability proportional to weight (Efraimidis–Spirakis)."""
    keyed = [(rng.random() ** (1.0 / w), i) for i, w in enumerate(weights) if w > 0]
    keyed.sort(reverse=True)
    return [items[i] for _key, i in keyed[:k]]


def _haopopo_weight(r: DemoResident) -> float:
    """好婆婆学堂 speaks to grandmothers and young mothers first (and to everyone else a little)."""
    age = YEAR - r.birth_year
    weight = 1.0
    if r.gender == "F" and (age >= 50 or 25 <= age <= 40):
        weight = 4.0
    elif r.gender == "M" and age >= 55:
        weight = 1.5
    return weight


def memberships_file(world: DemoWorld, rng: random.Random) -> OutTable:
    """Who is in which group. Also decides each resident's engagement, the day some stop coming (dropout) and the
    day some start (newcomers to community education)."""
    residents = [r for r in world.residents if _adult(r)]
    communities = _community_of(world)
    engagement: dict[str, str] = {}
    dropout: dict[str, datetime.date] = {}
    since: dict[str, datetime.date] = {}
    for r in world.residents:
        level = rng.choices(ENGAGEMENT_LEVELS, weights=ENGAGEMENT_SHARES)[0]
        login = r.phone in DEMO_RESIDENT_PHONES
        if login:
            level = "regular"  # the demo logins come regularly and never drop out
        engagement[r.ref] = level
        chance = rng.random()
        if level != "core" and not login and chance < 0.15:
            dropout[r.ref] = _date_between(rng, datetime.date(YEAR - 1, 3, 1), datetime.date(YEAR, 11, 30))
        elif not login and chance < 0.4:
            since[r.ref] = _date_between(rng, datetime.date(YEAR - 1, 2, 1), datetime.date(YEAR, 9, 30), skew=0.8)
    world.extra["engagement"] = engagement
    world.extra["dropout"] = dropout
    world.extra["since"] = since
    world.extra["mixing"] = {
        year: {c.code: c.year(year).mixing for c in sorted(world.communities, key=lambda c: c.code)} for year in YEARS
    }

    street_of = {c.code: c.street_code for c in world.communities}
    memberships: list[DemoMembership] = []
    org_leaning: dict[str, str | None] = {}  # organisation → the group its members mostly come from
    world.extra["org_leaning"] = org_leaning
    sizes = {"learning_community": (15, 35), "volunteer_team": (25, 45), "studio": (6, 12), "social_org": (10, 20)}
    for org in world.extra["organizations"]:
        if org.place_code in street_of:  # a community's group: its residents, a few neighbours
            pool = [
                r
                for r in residents
                if r.community_code == org.place_code
                or (street_of[r.community_code] == street_of[org.place_code] and rng.random() < 0.04)
            ]
        else:  # a street's group: the whole street, more from the communities whose groups thrive
            pool = [r for r in residents if street_of[r.community_code] == org.place_code]
        start = max(org.founded_on, datetime.date(YEAR - 3, 1, 1))
        pool = [r for r in pool if r.left_on is None or r.left_on > start + datetime.timedelta(days=30)]
        low, high = sizes[org.kind]
        groups = _groups_factor(world, org.place_code, YEAR)
        size = min(_scaled(world, rng.randint(low, high) * min(groups, 1.2), 3), len(pool))
        # Where locals and new citizens keep apart, a community's group is mostly one group's.
        home = communities.get(org.place_code)
        leaning = None
        if home is not None and rng.random() >= home.year(YEAR).mixing:
            leaning = "new_citizen" if rng.random() < home.new_citizen_share else "local"
        if "新市民" in org.name:
            leaning = "new_citizen"  # a new citizens' organisation: mostly new citizens wherever it is
        org_leaning[org.ref] = leaning
        weights = [
            ENGAGEMENT_WEIGHT[engagement[r.ref]]
            * (_haopopo_weight(r) if org.ref == HAOPOPO_REF else 1.0)
            * (communities[r.community_code].year(YEAR).groups if home is None else 1.0)
            * (APART if leaning is not None and r.household != leaning else 1.0)
            for r in pool
        ]
        chosen = _weighted_sample(rng, pool, weights, size)
        if org.ref == HAOPOPO_REF:
            demo = [
                r for r in world.residents if r.phone in DEMO_RESIDENT_PHONES and r.community_code == org.place_code
            ]
            chosen = demo + [r for r in chosen if r not in demo][: max(size - len(demo), 0)]
        chosen.sort(key=lambda r: r.ref)
        leaders = {r.ref for r in chosen[:0]}
        if chosen:
            leaders = {r.ref for r in _weighted_sample(rng, chosen, [1.0] * len(chosen), 1 if len(chosen) < 15 else 2)
                       if r.phone not in DEMO_RESIDENT_PHONES}  # fmt: skip
        end = org.dissolved_on or TODAY
        # Where the groups weaken, members leave more often.
        leave_chance = 0.12 + 0.2 * max(0.0, 1.0 - _groups_factor(world, org.place_code, YEAR))
        for r in chosen:
            earliest = max(start, r.registered_on, since.get(r.ref, start))  # newcomers join once they come
            if r.ref in leaders:
                joined = earliest
            elif r.phone in DEMO_RESIDENT_PHONES:
                joined = max(earliest, datetime.date(YEAR, 2, 15))
            else:
                joined = _date_between(rng, earliest, min(end, datetime.date(YEAR, 10, 31)), skew=0.9)
            if joined > end:
                continue
            left: datetime.date | None = None
            if r.ref not in leaders and r.phone not in DEMO_RESIDENT_PHONES and rng.random() < leave_chance:
                left = _date_between(rng, min(joined + datetime.timedelta(days=30), end), end)
            if r.left_on is not None and (left is None or left > r.left_on):
                left = max(r.left_on, joined)
            if org.dissolved_on is not None and left is None:
                left = org.dissolved_on
            memberships.append(DemoMembership(org.ref, r.ref, "leader" if r.ref in leaders else "member", joined, left))
    world.extra["memberships"] = memberships
    columns = ["organization_ref", "resident_ref", "role", "joined_on", "left_on"]
    rows = [
        [
            m.organization_ref,
            m.resident_ref,
            m.role,
            m.joined_on.isoformat(),
            m.left_on.isoformat() if m.left_on else "",
        ]
        for m in memberships
    ]
    return OutTable("memberships.csv", columns, rows)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI_OFFSET)


def _spread(rng: random.Random, count: int, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """``count`` dates spread over [start, end] with some jitter, in order."""
    span = (end - start).days
    if count <= 0 or span < 0:
        return []
    step = span / count
    days = sorted(
        start + datetime.timedelta(days=int(step * i + rng.uniform(0, max(step - 1, 0)))) for i in range(count)
    )
    return [min(d, end) for d in days]


def _count(rng: random.Random, expected: float) -> int:
    """A whole number with the given expectation (the fraction decides by chance)."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def activities_file(world: DemoWorld, rng: random.Random) -> OutTable:
    orgs: list[DemoOrganization] = world.extra["organizations"]
    communities = _community_of(world)
    communities_of: dict[str, list[str]] = {}
    for c in sorted(world.communities, key=lambda c: c.code):
        communities_of.setdefault(c.street_code, []).append(c.code)
    quiet = {name for c in world.communities for name in c.profile.quiet_groups}
    plan: list[DemoActivity] = []

    def add(place: str, kind: str, title: str, at: datetime.datetime, org: str, size: int, course: str = "",
            session: int = 0) -> None:  # fmt: skip
        plan.append(DemoActivity("", place, kind, title, at, org, size, course, session))

    def where(org: DemoOrganization, year: int) -> str:
        """Where an event of the organisation is held: its community, or (a street's) one of the street's
        communities, more often where groups thrive."""
        places = communities_of.get(org.place_code, [org.place_code])
        return rng.choices(places, weights=[_groups_factor(world, c, year) for c in places])[0]

    for year in YEARS:
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 28)
        # Courses: 好婆婆 sessions alternate between the street's centre (staff) and the communities (the classroom),
        # more often in the communities that learn most.
        for street, series, base, *_rest, sessions in DEMO_COURSES:
            if street not in communities_of or (year != YEAR and base not in COURSES_2024):
                continue
            title = edition_title(base, year)
            start = _date_between(rng, datetime.date(year, 2, 20), datetime.date(year, 7, 31))
            end = min(start + datetime.timedelta(days=7 * sessions * 2), datetime.date(year, 12, 20))
            cohort = _scaled(world, rng.randint(18, 32), 5)
            homes = communities_of[street]
            for n, day in enumerate(_spread(rng, sessions, start, end), start=1):
                if series and n % 2 == 0:
                    # (a community without outside resources has no room for the classroom's guest teachers)
                    weights = [communities[c].year(year).learning * (communities[c].year(year).link > 0) for c in homes]
                    weights = weights if any(weights) else [1.0] * len(homes)
                    place, organiser = rng.choices(homes, weights=weights)[0], HAOPOPO_REF
                else:
                    place, organiser = street, ""
                add(place, "course_session", title, _at(day, rng.choice((9, 14)), rng.choice((0, 30))), organiser,
                    cohort, title, n)  # fmt: skip
        # Each community's own school (社区学校) runs courses of eight sessions, organised by its staff: none, one,
        # or several a year, by how much the community learns.
        for community in sorted(world.communities, key=lambda c: c.code):
            learning = community.year(year).learning
            courses = min(_count(rng, learning**1.5), len(COMMUNITY_SCHOOL_TOPICS))
            for topic in rng.sample(COMMUNITY_SCHOOL_TOPICS, courses):
                title = edition_title(f"{community.name}社区学校·{topic}", year)
                start = _date_between(rng, datetime.date(year, 3, 1), datetime.date(year, 9, 1))
                cohort = _scaled(world, rng.randint(12, 22) * min(learning, 1.5), 4)
                days = _spread(rng, SCHOOL_SESSIONS, start, start + datetime.timedelta(days=70))
                for n, day in enumerate(days, start=1):
                    add(community.code, "course_session", title, _at(day, rng.choice((9, 14, 19))), "", cohort,
                        title, n)  # fmt: skip
        for street, base, times in DEMO_LECTURES:
            if street not in communities_of:
                continue
            title = edition_title(base, year)
            for day in _spread(rng, times, datetime.date(year, 3, 1), datetime.date(year, 12, 15)):
                add(street, "course_session", title, _at(day, 14), "", _scaled(world, rng.randint(60, 150), 10),
                    title)  # fmt: skip
        # Learning communities meet every two to four weeks; studios and social organisations hold events; teams
        # volunteer. How often follows the profile of the organisation's community in that year.
        for org in orgs:
            active_from = max(org.founded_on, first)
            active_to = min(org.dissolved_on or last, last)
            if active_from > active_to or (year == YEAR and org.name in quiet):
                continue
            weeks = (active_to - active_from).days / 7
            groups = _groups_factor(world, org.place_code, year)
            if org.kind == "learning_community":
                every = rng.choice((2, 2, 3, 4)) if org.ref != HAOPOPO_REF else 1.5
                count = _scaled(world, weeks / every * min(groups, 1.3), 2)
                for day in _spread(rng, count, active_from, active_to):
                    add(org.place_code, "learning_meeting", f"{org.name}活动", _at(day, rng.choice((9, 14, 19))),
                        org.ref, _scaled(world, rng.randint(8, 22), 3))  # fmt: skip
            elif org.kind == "volunteer_team":
                for day in _spread(rng, _scaled(world, weeks / 1.5 * groups, 2), active_from, active_to):
                    add(where(org, year), "volunteer_event", f"{org.name}志愿服务", _at(day, rng.choice((8, 9, 14))),
                        org.ref, _scaled(world, rng.randint(8, 25), 3))  # fmt: skip
            else:
                for day in _spread(rng, _scaled(world, weeks / 3 * groups, 2), active_from, active_to):
                    add(where(org, year), "org_event", f"{org.name}活动", _at(day, rng.choice((9, 14, 19))),
                        org.ref, _scaled(world, rng.randint(10, 40), 3))  # fmt: skip
        # Residents' councils (居民议事会): a few deliberation meetings per community, organised by staff.
        for community in sorted(world.communities, key=lambda c: c.code):
            civic = community.year(year).civic
            meetings = max(2, round(rng.randint(4, 8) * civic))
            for day in _spread(rng, meetings, datetime.date(year, 1, 10), datetime.date(year, 12, 20)):
                add(community.code, "deliberation_meeting", f"{community.name}居民议事会", _at(day, 19), "",
                    _scaled(world, rng.randint(6, 16) * civic, 4))  # fmt: skip
    plan.sort(key=lambda a: (a.starts_at, a.place_code, a.title))
    for number, activity in enumerate(plan, start=1):
        activity.ref = f"A{number:05d}"
    world.extra["activities"] = plan
    # Which providers' resources each activity used (联 link, below): drawn from a stream of its own, so that the
    # rest of this file and the later files stay as they were before resources existed.
    uses = _resource_uses(world, plan)
    columns = ["ref", "place_code", "kind", "title", "starts_at", "organization_ref", "resource_refs"]
    rows = [[a.ref, a.place_code, a.kind, a.title, a.starts_at.isoformat(), a.organization_ref,
             ";".join(uses.get(a.ref, ()))] for a in plan]  # fmt: skip
    return OutTable("activities.csv", columns, rows)


def attendance_file(world: DemoWorld, rng: random.Random) -> OutTable:
    """Who came. Members come to their group's gatherings, a course has a cohort that thins out, open events draw
    from the neighbourhood weighted by engagement (and, for classes, by how much the resident's community learns that
    year); in a community with low mixing, an event leans to one group."""
    engagement: dict[str, str] = world.extra["engagement"]
    dropout: dict[str, datetime.date] = world.extra["dropout"]
    since: dict[str, datetime.date] = world.extra["since"]
    mixing: dict[int, dict[str, float]] = world.extra["mixing"]
    communities = _community_of(world)
    street_of = {c.code: c.street_code for c in world.communities}
    by_ref = {r.ref: r for r in world.residents}
    members: dict[str, list[DemoMembership]] = {}
    for m in world.extra["memberships"]:
        members.setdefault(m.organization_ref, []).append(m)
    org_place = {o.ref: o.place_code for o in world.extra["organizations"]}
    org_leaning: dict[str, str | None] = world.extra["org_leaning"]
    learning_of = {year: {c.code: c.year(year).learning for c in world.communities} for year in YEARS}
    haopopo_titles = _haopopo_titles()
    login_titles = _haopopo_titles(DEMO_LOGIN_SERIES)

    def active(r: DemoResident, day: datetime.date) -> bool:
        gone, first = dropout.get(r.ref), since.get(r.ref)
        return _on_roll(r, day) and (gone is None or day < gone) and (first is None or day >= first)

    def leanings(pool: list[DemoResident], year: int) -> dict[str, str | None]:
        """With low mixing, the people of a community who come to a gathering are mostly one group's (the group
        chosen by its share): community → the group it leans to, or None."""
        out: dict[str, str | None] = {}
        for code in sorted({r.community_code for r in pool}):
            out[code] = None
            if rng.random() >= mixing[year].get(code, 0.5):
                share = communities[code].new_citizen_share
                out[code] = "new_citizen" if rng.random() < share else "local"
        return out

    def open_draw(pool: list[DemoResident], day: datetime.date, size: int, exclude: set[str],
                  boost: Callable[[DemoResident], float] | None = None, learning: bool = False,
                  group: str | None = None, civic: bool = False) -> list[DemoResident]:  # fmt: skip
        """``size`` of ``pool`` active on ``day``; ``group``: the gathering's own group (its guests lean to it too)."""
        leaning = leanings(pool, day.year)
        learns = learning_of[day.year]
        if group is not None:
            leaning = {code: group if lean is not None or group == "new_citizen" else None
                       for code, lean in leaning.items()}  # fmt: skip
        candidates = [r for r in pool if r.ref not in exclude and active(r, day)]
        weights = []
        for r in candidates:
            w = (CIVIC_WEIGHT if civic else ENGAGEMENT_WEIGHT)[engagement[r.ref]] * (boost(r) if boost else 1.0)
            if learning:
                w *= learns[r.community_code]
            group = leaning[r.community_code]
            if group is not None and r.household != group:
                w *= APART
            weights.append(w)
        return _weighted_sample(rng, candidates, weights, min(size, len(candidates)))

    rows: list[list[str]] = []
    cohorts: dict[str, list[DemoResident]] = {}
    present_count: dict[int, dict[str, int]] = {year: {} for year in YEARS}

    def record(activity: DemoActivity, present: list[DemoResident], absent: list[DemoResident] = (),  # type: ignore[assignment]
               hours: bool = False) -> None:  # fmt: skip
        entries = [(r, "present") for r in present]
        for r in absent:
            if rng.random() < 0.35:  # a roster notes some no-shows; a few sent word
                entries.append((r, "excused" if rng.random() < 0.3 else "absent"))
        counts = present_count[activity.year]
        for r, status in sorted(entries, key=lambda e: e[0].ref):
            spent = ""
            if status == "present":
                counts[r.ref] = counts.get(r.ref, 0) + 1
                if hours:
                    spent = str(rng.choice((1, 1.5, 2, 2, 3, 4)))
            rows.append([activity.ref, r.ref, status, spent])

    pools: dict[tuple[str, int], list[DemoResident]] = {}

    def adults_of(place: str, year: int) -> list[DemoResident]:
        """The adults of a community, or of a street, in a year."""
        key = (place, year)
        if key not in pools:
            pools[key] = [
                r for r in world.residents
                if _adult(r, year) and (r.community_code == place or street_of[r.community_code] == place)
            ]  # fmt: skip
        return pools[key]

    for activity in world.extra["activities"]:
        day, year = activity.starts_at.date(), activity.year
        community = activity.place_code if activity.place_code in street_of else None
        street = street_of.get(activity.place_code, activity.place_code)
        if activity.kind == "course_session" and activity.size > 50:  # a lecture hall: the whole street comes
            present = open_draw(adults_of(street, year), day, activity.size, set(), learning=True)
            record(activity, present)
            continue
        if activity.kind == "course_session":
            cohort = cohorts.get(activity.course)
            base = catalogue_title(activity.course)
            if cohort is None:
                # A community school's class comes from the community; a street's course from the whole street.
                pool = adults_of(activity.place_code if community and not activity.organization_ref else street, year)
                boost = _haopopo_weight if activity.organization_ref or base in haopopo_titles else None
                cohort = open_draw(pool, day, activity.size, set(), boost, learning=True)
                if year == YEAR and base in login_titles:
                    demo = [r for r in adults_of(street, year) if r.phone in DEMO_RESIDENT_PHONES]
                    cohort = demo + [r for r in cohort if r not in demo]
                else:
                    cohort = [r for r in cohort if r.phone not in DEMO_RESIDENT_PHONES]
                cohorts[activity.course] = cohort
            present, absent = [], []
            for r in cohort:
                if active(r, day) and rng.random() < ENGAGEMENT_ATTEND[engagement[r.ref]] + 0.15:
                    present.append(r)
                elif _on_roll(r, day):
                    absent.append(r)
            taken = {r.ref for r in cohort}
            walk_ins = open_draw(adults_of(activity.place_code if community else street, year), day,
                                 rng.randint(0, 4), taken, learning=True)  # fmt: skip
            record(activity, present + walk_ins, absent)
            continue
        if activity.organization_ref:
            current = [
                m for m in members.get(activity.organization_ref, [])
                if m.joined_on <= day and (m.left_on is None or m.left_on > day)
            ]  # fmt: skip
            present, absent = [], []
            for m in current:
                r = by_ref[m.resident_ref]
                chance = 0.92 if m.role == "leader" else ENGAGEMENT_ATTEND[engagement[r.ref]] + 0.1
                if active(r, day) and rng.random() < chance:
                    present.append(r)
                elif _on_roll(r, day):
                    absent.append(r)
            present = present[: activity.size + 10]
            home = org_place.get(activity.organization_ref, activity.place_code)
            guests = open_draw(adults_of(home, year), day, rng.randint(0, 5 if activity.kind != "org_event" else 12),
                               {m.resident_ref for m in current}, learning=activity.kind == "learning_meeting",
                               group=org_leaning.get(activity.organization_ref))  # fmt: skip
            record(activity, present + guests, absent, hours=activity.kind == "volunteer_event")
            continue
        # Staff-organised open meetings (residents' councils).
        present = open_draw(adults_of(activity.place_code, year), day, activity.size, set(), civic=True)
        record(activity, present)
    world.extra["present_count"] = present_count
    columns = ["activity_ref", "resident_ref", "status", "hours"]
    return OutTable("attendance.csv", columns, rows)


def _haopopo_titles(series_names: tuple[str, ...] | None = None) -> set[str]:
    return {t for _p, s, t, *_rest in DEMO_COURSES if s and (series_names is None or s in series_names)}


STEPS: list[DemoStep] = [
    places_file,
    residents_file,
    population_file,
    organizations_file,
    memberships_file,
    activities_file,
    attendance_file,
]


# --- 议 deliberate: issues and who took part in them, in 2024 and 2025 -----------------------------------------
#
# Every community raised a handful of issues each year (more where residents deliberate more), at every stage of the
# chain: by the end of 2025 most of 2024's are closed, 2025's are at every stage — open, under discussion, decided,
# being carried out, closed, a few rejected. Closed issues went through discussion and a decision where deliberation
# is strong; elsewhere some were settled directly (no discussion or decision recorded). Each has its actions (raise,
# comments, proposals, votes) by residents of the community, mostly by its engaged core. The estate-renovation case of
# 九堡社区 is not in these files: it is built end to end through the services by ``demo_deliberation`` after the import.

DEMO_ISSUE_TITLES: tuple[tuple[str, str], ...] = (
    ("estate", "小区停车位划线与充电桩"),
    ("estate", "楼道照明改造"),
    ("estate", "屋顶防水维修"),
    ("environment", "垃圾分类投放点搬迁"),
    ("environment", "小区绿地改成口袋公园"),
    ("safety", "学校门口上下学交通拥堵"),
    ("safety", "电动车楼道充电隐患"),
    ("elderly", "老年食堂开设晚餐"),
    ("elderly", "助老服务点延长开放时间"),
    ("children", "四点半课堂增加托管名额"),
    ("services", "快递柜位置调整"),
    ("services", "社区便民理发服务"),
    ("other", "广场舞音量与时段"),
)
# The stages an issue reached by the end of 2025, with weights: for issues raised in 2025, and in an earlier year.
DEMO_ISSUE_STATUSES = (
    ("open", 0.15),
    ("discussing", 0.2),
    ("decided", 0.1),
    ("implementing", 0.2),
    ("closed", 0.28),
    ("rejected", 0.07),
)
EARLIER_ISSUE_STATUSES = (
    ("open", 0.03),
    ("discussing", 0.05),
    ("decided", 0.04),
    ("implementing", 0.12),
    ("closed", 0.66),
    ("rejected", 0.1),
)


@dataclass
class DemoIssue:
    ref: str
    community_code: str
    raised_by: str
    raised_on: datetime.date
    status: str
    dates: dict[str, datetime.date | None]
    title: str


def _issue_dates(
    rng: random.Random, status: str, raised_on: datetime.date, due: float
) -> dict[str, datetime.date | None]:
    """The dates of the steps an issue reached. A closed issue followed due process (discussed, decided, carried out)
    with chance ``due``; otherwise it was settled directly (by the property company or the community office)."""
    dates: dict[str, datetime.date | None] = dict.fromkeys(
        ("discussed_on", "decided_on", "implemented_on", "closed_on")
    )
    steps = {"open": 0, "discussing": 1, "decided": 2, "implementing": 3, "closed": 4, "rejected": 1}[status]
    skipped: set[str] = set()
    if status == "closed" and rng.random() >= due:
        skipped = {"discussed_on", "decided_on"} if rng.random() < 0.6 else {"decided_on"}
    day = raised_on
    for column in ("discussed_on", "decided_on", "implemented_on", "closed_on")[:steps]:
        if status == "rejected" and rng.random() < 0.5:
            break  # rejected at once, never discussed
        day = min(day + datetime.timedelta(days=rng.randint(5, 40)), TODAY)
        if column not in skipped:
            dates[column] = day
    return dates


def issues_file(world: DemoWorld, rng: random.Random) -> OutTable:
    plan: list[DemoIssue] = []
    for year in YEARS:
        for community in sorted(world.communities, key=lambda c: c.code):
            civic = community.year(year).civic
            taken = {i.title for i in plan if i.community_code == community.code}
            titles = [t for t in DEMO_ISSUE_TITLES if t[1] not in taken]
            count = min(len(titles), max(1, round(rng.randint(3, 5) * civic)))
            statuses = DEMO_ISSUE_STATUSES if year == YEAR else EARLIER_ISSUE_STATUSES
            due = min(0.95, max(0.2, 0.3 + 0.55 * civic))
            for _category, title in rng.sample(titles, count):
                status = rng.choices([s for s, _w in statuses], weights=[w for _s, w in statuses])[0]
                raised_on = _date_between(rng, datetime.date(year, 1, 5), datetime.date(year, 11, 15), skew=0.9)
                dates = _issue_dates(rng, status, raised_on, due)
                pool = [
                    r for r in world.residents
                    if r.community_code == community.code and _adult(r, year) and _on_roll(r, raised_on)
                ]  # fmt: skip
                raiser = rng.choice(pool).ref if pool and rng.random() < 0.8 else ""
                plan.append(DemoIssue("", community.code, raiser, raised_on, status, dates, title))
    plan.sort(key=lambda i: (i.raised_on, i.community_code, i.title))
    for number, issue in enumerate(plan, start=1):
        issue.ref = f"I{number:04d}"
    world.extra["issues"] = plan
    columns = ["ref", "community_code", "raised_by", "raised_on", "status", "discussed_on", "decided_on",
               "implemented_on", "closed_on", "title"]  # fmt: skip
    rows = [
        [i.ref, i.community_code, i.raised_by, i.raised_on.isoformat(), i.status,
         *((i.dates[c].isoformat() if i.dates[c] else "") for c in columns[5:9]), i.title]  # type: ignore[union-attr]
        for i in plan
    ]  # fmt: skip
    return OutTable("issues.csv", columns, rows)


def issue_actions_file(world: DemoWorld, rng: random.Random) -> OutTable:
    """The raise, then comments while open or discussed, proposals while discussed, votes before the decision —
    mostly by the community's engaged residents (the same faces at every issue), more where deliberation is strong."""
    engagement: dict[str, str] = world.extra["engagement"]
    communities = _community_of(world)
    rows: set[tuple[str, str, str, str]] = set()

    def moment(start: datetime.date, end: datetime.date) -> str:
        day = _date_between(rng, start, max(start, end))
        return _at(day, rng.choice((10, 12, 19, 20, 21)), rng.choice((0, 15, 30, 45))).isoformat()

    def some(pool: list[DemoResident], k: int) -> list[DemoResident]:
        return _weighted_sample(rng, pool, [CIVIC_WEIGHT[engagement[r.ref]] for r in pool], min(len(pool), k))

    for issue in world.extra["issues"]:
        year = issue.raised_on.year
        pool = [
            r for r in world.residents
            if r.community_code == issue.community_code and _adult(r, year) and _on_roll(r, issue.raised_on)
        ]  # fmt: skip
        if not pool:
            continue
        civic = communities[issue.community_code].year(year).civic
        d = issue.dates
        if issue.raised_by:
            rows.add((issue.ref, issue.raised_by, "raise", _at(issue.raised_on, 9).isoformat()))
        talk_end = (
            d["decided_on"] or d["discussed_on"] or d["closed_on"]
            or min(issue.raised_on + datetime.timedelta(days=30), TODAY)
        )  # fmt: skip
        for r in some(pool, _scaled(world, rng.randint(2, 8) * civic, 2)):
            rows.add((issue.ref, r.ref, "comment", moment(issue.raised_on, talk_end)))
        if d["discussed_on"] is not None and issue.status != "rejected":
            for r in some(pool, rng.randint(1, 3)):
                rows.add((issue.ref, r.ref, "propose", moment(d["discussed_on"], talk_end)))
        if d["decided_on"] is not None:
            vote_start = max(d["discussed_on"] or issue.raised_on, d["decided_on"] - datetime.timedelta(days=7))
            for r in some(pool, _scaled(world, rng.randint(6, 18) * civic, 4)):
                rows.add((issue.ref, r.ref, "vote", moment(vote_start, d["decided_on"])))
    columns = ["issue_ref", "resident_ref", "action", "at"]
    return OutTable("issue_actions.csv", columns, [list(r) for r in sorted(rows)])


STEPS += [issues_file, issue_actions_file]


# --- 联 link: providers, their resources, the activities that used them, and needs, in 2024 and 2025 -------------
#
# The cases of SPEC.md moved to 上城区: a bank paired with 九堡街道 gives financial-literacy lectures against telecom fraud
# (the Wenjiao bank pairing) and sends its staff volunteers; a health college's student volunteers give health talks in
# 采荷; a company runs an elders' smartphone course on market terms; Shangcheng's parent-education partners — the
# child-health clinic of the district's maternal and child hospital and a family-education NGO — teach 好婆婆学堂's series
# and the street's 家庭教育大讲堂. Libraries, a shopping centre, two chambers of commerce, a law firm, the Red Cross and
# others complete the network.
#
# Communities differ: each has a ``link`` level in its profile, per year, the chance that one of its own gatherings (a
# learning-community meeting, an organisation's event, a volunteer event) uses an outside venue, fund or volunteer
# service. 芙蓉社区 is rich
# in outside resources (the library's branch and the chamber's fund are there); 双桥社区 has almost none: its community
# school is taught by its own staff and its groups meet in their own rooms. Needs follow: where resources are, more
# needs are fulfilled; where they are not, needs stay open.
#
# The catalogue is fixed (no randomness); which activity used what is drawn from the stream ``resource_uses``.

# (ref, name, kind)
DEMO_PROVIDERS: tuple[tuple[str, str, str], ...] = (
    ("P001", "钱塘银行九堡支行", "bank"),
    ("P002", "之江健康职业学院", "university"),
    ("P003", "银龄智慧生活科技有限公司", "company"),
    ("P004", "上城区妇幼保健院", "hospital"),
    ("P005", "向阳花家庭教育服务中心", "ngo"),
    ("P006", "九堡街道社区卫生服务中心", "hospital"),
    ("P007", "上城区红十字会", "ngo"),
    ("P008", "明理律师事务所", "company"),
    ("P009", "上城区图书馆", "government"),
    ("P010", "采荷商会", "other"),
    ("P011", "九堡商业中心管理有限公司", "company"),
    ("P012", "九堡商会", "other"),
    ("P013", "心晴心理咨询服务社", "ngo"),
    ("P014", "上城区环境卫生管理中心", "government"),
    ("P015", "光影摄影器材行", "company"),
)
BANK_REF = "P001"
UNIVERSITY_REF = "P002"
ELDERS_COURSE_COMPANY_REF = "P003"
CHILD_HEALTH_CLINIC_REF = "P004"
PARENT_EDUCATION_NGO_REF = "P005"
# (ref, provider ref, kind, name)
DEMO_RESOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("RS001", "P001", "course", "金融知识讲座（防范电信诈骗）"),
    ("RS002", "P001", "venue", "金融知识教育基地（九堡支行三楼）"),
    ("RS003", "P001", "volunteer_service", "金融志愿服务队（反诈宣传进社区）"),
    ("RS004", "P002", "volunteer_service", "大学生志愿者健康讲座"),
    ("RS005", "P002", "course", "青少年健康知识课"),
    ("RS006", "P003", "course", "老年智能手机课（市场化运营）"),
    ("RS007", "P003", "teacher", "智能手机课讲师"),
    ("RS008", "P004", "teacher", "儿童保健科医生（科学育儿指导）"),
    ("RS009", "P005", "teacher", "家庭教育指导师"),
    ("RS010", "P005", "course", "家庭教育指导讲座"),
    ("RS011", "P006", "teacher", "全科医生健康讲座"),
    ("RS012", "P007", "course", "应急救护培训（家庭急救）"),
    ("RS013", "P008", "teacher", "律师普法讲座"),
    ("RS014", "P009", "venue", "图书馆采荷分馆共享学习空间"),
    ("RS015", "P009", "course", "亲子阅读指导"),
    ("RS016", "P010", "fund", "社区教育公益金"),
    ("RS017", "P011", "venue", "九堡商业中心共享学习空间"),
    ("RS018", "P012", "fund", "新市民关爱基金"),
    ("RS019", "P013", "teacher", "心理咨询师"),
    ("RS020", "P014", "other", "垃圾分类宣传物资与讲解"),
    ("RS021", "P015", "teacher", "手机摄影讲师"),
)
BANK_LECTURE_REF = "RS001"
BANK_VENUE_REF = "RS002"
BANK_VOLUNTEERS_REF = "RS003"
STUDENT_HEALTH_TALKS_REF = "RS004"
ELDERS_PHONE_COURSE_REF = "RS006"
CHILD_HEALTH_DOCTOR_REF = "RS008"
PARENT_GUIDE_REF = "RS009"

# Courses and lectures whose every session used these resources.
COURSE_RESOURCES: dict[str, tuple[str, ...]] = {
    "婴幼儿科学喂养": ("RS008",),
    "早期发展与亲子游戏": ("RS008",),
    "慢病预防与合理膳食": ("RS011",),
    "八段锦与居家运动": ("RS011",),
    "婆媳沟通的艺术": ("RS009",),
    "家庭角色与边界": ("RS009",),
    "隔代教养中的爱与规矩": ("RS009",),
    "祖辈家长学数字生活": ("RS009",),
    "家庭教育大讲堂": ("RS008", "RS010"),
    "健康养生大讲堂": ("RS004",),
    "智能手机轻松学": ("RS006", "RS007"),
}
# One session of a course that brought in someone else: (course, session number) → resources.
SESSION_RESOURCES: dict[tuple[str, int], tuple[str, ...]] = {
    ("祖辈家长学数字生活", 3): ("RS001",),  # the bank's anti-fraud lecture: paying by phone safely
    ("智能手机轻松学", 5): ("RS001",),
}
# A community school's topic → the resources its sessions used, in 九堡 and in 采荷.
SCHOOL_TOPIC_RESOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "防范电信诈骗": (("RS001",), ("RS001",)),
    "垃圾分类新知": (("RS020",), ("RS020",)),
    "家庭急救": (("RS012",), ("RS012",)),
    "老年营养": (("RS011",), ("RS004",)),
    "手机拍照": (("RS021",), ("RS021",)),
    "法律常识": (("RS013",), ("RS013",)),
    "心理健康": (("RS019",), ("RS019", "RS004")),
    "亲子沟通": (("RS009",), ("RS015",)),
}
RICH_COMMUNITY = "330102007001"  # 芙蓉社区: rich in outside resources (its profile's ``link``)
POOR_COMMUNITY = "330102011003"  # 双桥社区: almost none
# The local pools of each street: activity kind → resources its communities' gatherings draw on.
LOCAL_POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    JIUBAO: {
        "learning_meeting": ("RS017", "RS017", "RS002"),
        "org_event": ("RS018", "RS017", "RS001"),
        "volunteer_event": ("RS003",),
    },
    CAIHE: {
        "learning_meeting": ("RS014", "RS014", "RS016"),
        "org_event": ("RS016", "RS014"),
        "volunteer_event": ("RS004",),
    },
}
# 芙蓉社区 has more at hand: the library's reading guidance, the chamber's fund, a photographer, the Red Cross.
COMMUNITY_POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    RICH_COMMUNITY: {
        "learning_meeting": ("RS014", "RS014", "RS015", "RS016", "RS021"),
        "org_event": ("RS016", "RS014", "RS012", "RS010"),
        "volunteer_event": ("RS004", "RS012"),
    },
}
NEW_CITIZENS_ORG = "九堡街道新市民互助会"  # its events often bring the bank's lecture (new citizens and fraud)


def _resource_uses(world: DemoWorld, plan: list[DemoActivity]) -> dict[str, tuple[str, ...]]:
    """activity ref → the resource refs it used (sorted); recorded in ``world.extra["resource_uses"]``."""
    rng = random.Random(f"gongzhi-demo:{world.seed}:resource_uses")
    street_of = {c.code: c.street_code for c in world.communities}
    communities = _community_of(world)
    org_names = {o.ref: o.name for o in world.extra.get("organizations", [])}
    uses: dict[str, tuple[str, ...]] = {}
    for a in plan:
        used: set[str] = set()
        street = street_of.get(a.place_code, a.place_code)
        community = communities.get(a.place_code)
        link = community.year(a.year).link if community else 0.0
        if a.kind == "course_session":
            course = catalogue_title(a.course)
            used.update(COURSE_RESOURCES.get(course, ()))
            used.update(SESSION_RESOURCES.get((course, a.session), ()))
            topic = course.partition("·")[2]
            # A community school brings in outside teachers for some sessions (all, where resources abound; none
            # where there are none: its staff teach).
            if topic in SCHOOL_TOPIC_RESOURCES and link > 0 and rng.random() < 0.2 + 2.5 * link:
                in_jiubao, in_caihe = SCHOOL_TOPIC_RESOURCES[topic]
                used.update(in_jiubao if street == JIUBAO else in_caihe)
        elif a.kind in ("learning_meeting", "org_event", "volunteer_event") and a.place_code in street_of:
            pool = COMMUNITY_POOLS.get(a.place_code, LOCAL_POOLS.get(street, {})).get(a.kind, ())
            if org_names.get(a.organization_ref) == NEW_CITIZENS_ORG and rng.random() < 0.35:
                used.add(BANK_LECTURE_REF)
            elif pool and rng.random() < link:
                used.add(rng.choice(pool))
        if used:
            uses[a.ref] = tuple(sorted(used))
    world.extra["resource_uses"] = uses
    return uses


def providers_file(world: DemoWorld, rng: random.Random) -> OutTable:
    return OutTable("providers.csv", ["ref", "name", "kind"], [list(p) for p in DEMO_PROVIDERS])


def resources_file(world: DemoWorld, rng: random.Random) -> OutTable:
    return OutTable("resources.csv", ["ref", "provider_ref", "kind", "name"], [list(r) for r in DEMO_RESOURCES])


# Needs a resource of the catalogue can meet: (title, resource kind, the resources that meet it).
NEED_TEMPLATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("想学怎么识别电信诈骗、保护好养老钱", "course", ("RS001",)),
    ("希望有人手把手教老人用智能手机", "course", ("RS006", "RS007")),
    ("孩子的喂养和早期发展想请医生指导", "teacher", ("RS008",)),
    ("希望有医生来讲慢病预防和合理膳食", "teacher", ("RS011", "RS004")),
    ("祖辈带娃、婆媳相处想请专业老师讲讲", "teacher", ("RS009", "RS010")),
    ("学习共同体活动缺少固定场地", "venue", ("RS014", "RS017", "RS002")),
    ("社区活动和团队缺少经费", "fund", ("RS016", "RS018")),
    ("独居老人需要志愿者定期上门陪伴", "volunteer_service", ("RS003", "RS004")),
    ("想学家庭急救和心肺复苏", "course", ("RS012",)),
    ("租房合同、邻里纠纷想请律师讲讲", "teacher", ("RS013",)),
    ("垃圾分类宣传需要物资和讲解", "other", ("RS020",)),
    ("压力大、想听听心理健康讲座", "teacher", ("RS019",)),
    ("想学用手机拍好照片", "teacher", ("RS021",)),
    ("亲子阅读想有人指导", "course", ("RS015", "RS009")),
)
# Needs no resource in the catalogue meets yet (they stay open), and needs that were dropped.
OPEN_NEEDS: tuple[tuple[str, str], ...] = (
    ("想学书法和国画", "course"),
    ("希望周末晚上开放社区学习室", "venue"),
    ("新市民子女入学政策想有人讲解", "other"),
    ("想学简单的英语口语", "course"),
    ("四点半课堂需要大学生辅导作业", "volunteer_service"),
    ("老年大学名额太少，想在社区开班", "course"),
    ("楼道读书角需要图书", "other"),
)
CANCELLED_NEEDS: tuple[tuple[str, str], ...] = (
    ("想开晚间瑜伽班（报名人数不足，已取消）", "course"),
    ("组织社区一日游（出于安全考虑取消）", "other"),
    ("广场舞音响更换（已由居民自筹解决）", "fund"),
)
# The spring needs surveys of the two streets (需求调查, sent down), every year: needs they found carry that day.
NEEDS_SURVEY_DAYS: dict[str, tuple[int, int]] = {JIUBAO: (3, 10), CAIHE: (4, 8)}


def _need_origin(
    rng: random.Random, survey_day: datetime.date | None, first: datetime.date, last: datetime.date
) -> tuple[str, datetime.date]:
    """How and when a need came up, between ``first`` and ``last``: the street's spring needs survey when it falls
    in that span (often), else a resident's or worker's report on a day of the span."""
    first = max(first, datetime.date(last.year, 1, 6))
    if survey_day is not None and first <= survey_day <= last and rng.random() < 0.45:
        return "survey", survey_day
    return "report", _date_between(rng, first, max(first, last))


@dataclass
class DemoNeed:
    ref: str
    community_code: str
    direction: str
    resource_kind: str
    raised_on: datetime.date
    status: str
    fulfilled_on: datetime.date | None
    resource_ref: str
    title: str


def needs_file(world: DemoWorld, rng: random.Random) -> OutTable:
    """Five to nine needs per community and year. A need is fulfilled by a resource that an activity held in the
    community (or a centralised one of its street) used after the need was raised, in the same year; the richer the
    community in resources that year, the more of its needs are fulfilled. Some are matched and waiting (late in
    2025), some open, a few cancelled."""
    uses: dict[str, tuple[str, ...]] = world.extra.get("resource_uses", {})
    street_of = {c.code: c.street_code for c in world.communities}
    # (year, community) → resource → the days activities reaching the community used it
    reached: dict[tuple[int, str], dict[str, list[datetime.date]]] = {}
    for a in world.extra.get("activities", []):
        refs = uses.get(a.ref, ())
        if not refs:
            continue
        places = [a.place_code] if a.place_code in street_of else [c for c, s in street_of.items() if s == a.place_code]
        for place in places:
            for ref in refs:
                reached.setdefault((a.year, place), {}).setdefault(ref, []).append(a.starts_at.date())
    plan: list[DemoNeed] = []
    for year in YEARS:
        earliest = datetime.date(year, 1, 6)
        for community in sorted(world.communities, key=lambda c: c.code):
            level = community.year(year).link
            month, day = NEEDS_SURVEY_DAYS.get(community.street_code, (0, 0))
            survey_day = datetime.date(year, month, day) if month else None
            here = reached.get((year, community.code), {})
            # A need still open from an earlier year is not raised again.
            titles_used = {n.title for n in plan if n.community_code == community.code and n.status == "open"}

            # Fulfilled: a template whose resource reached the community, raised 2–10 weeks before that use.
            fulfillable = [t for t in NEED_TEMPLATES if any(ref in here for ref in t[2])]
            rng.shuffle(fulfillable)
            wanted = 0 if level == 0 else min(len(fulfillable), 1 + int(level * 10) + rng.randint(0, 1))
            for title, kind, refs in fulfillable[:wanted]:
                ref = rng.choice([r for r in refs if r in here])
                days = sorted(d for d in here[ref] if d >= earliest + datetime.timedelta(days=14))
                if not days:
                    continue
                used_on = rng.choice(days)
                direction, raised_on = _need_origin(
                    rng,
                    survey_day,
                    used_on - datetime.timedelta(days=rng.randint(42, 90)),
                    used_on - datetime.timedelta(days=14),
                )
                plan.append(DemoNeed("", community.code, direction, kind, raised_on, "fulfilled", used_on, ref, title))
                titles_used.add(title)
            if level == 0:
                # Where outside resources are scarce, residents fill a gap themselves (no provider's resource).
                title, kind = OPEN_NEEDS[-1]
                raised_on = _date_between(rng, datetime.date(year, 2, 1), datetime.date(year, 6, 30))
                done = min(raised_on + datetime.timedelta(days=rng.randint(20, 60)), TODAY)
                plan.append(DemoNeed("", community.code, "report", kind, raised_on, "fulfilled", done, "", title))
                titles_used.add(title)
            # Matched and waiting for the activity: raised late in 2025, a resource accepted.
            if level > 0 and year == YEAR:
                nearby = {
                    ref for (y, c), refs in reached.items() if y == year and street_of[c] == community.street_code
                    for ref in refs
                }  # fmt: skip
                waiting = [t for t in NEED_TEMPLATES if t[0] not in titles_used and nearby.intersection(t[2])]
                if waiting:
                    title, kind, refs = rng.choice(waiting)
                    ref = rng.choice(sorted(nearby.intersection(refs)))
                    raised_on = _date_between(rng, datetime.date(year, 10, 15), datetime.date(year, 12, 10))
                    plan.append(DemoNeed("", community.code, "report", kind, raised_on, "matched", None, ref, title))
                    titles_used.add(title)
            # Open: nothing matched yet (more where resources are scarce).
            open_count = rng.randint(1, 2) + (2 if level < 0.1 else 0)
            unmet = [n for n in OPEN_NEEDS if n[0] not in titles_used]
            for title, kind in rng.sample(unmet, min(open_count, len(unmet))):
                direction, raised_on = _need_origin(rng, survey_day, earliest, datetime.date(year, 12, 15))
                plan.append(DemoNeed("", community.code, direction, kind, raised_on, "open", None, "", title))
            # Cancelled: one now and then.
            if rng.random() < 0.6:
                title, kind = rng.choice(CANCELLED_NEEDS)
                raised_on = _date_between(rng, datetime.date(year, 2, 1), datetime.date(year, 10, 31))
                plan.append(DemoNeed("", community.code, "report", kind, raised_on, "cancelled", None, "", title))
    plan.sort(key=lambda n: (n.raised_on, n.community_code, n.title))
    for number, need in enumerate(plan, start=1):
        need.ref = f"N{number:04d}"
    world.extra["needs"] = plan
    columns = ["ref", "community_code", "direction", "resource_kind", "raised_on", "status", "fulfilled_on",
               "resource_ref", "title"]  # fmt: skip
    rows = [
        [n.ref, n.community_code, n.direction, n.resource_kind, n.raised_on.isoformat(), n.status,
         n.fulfilled_on.isoformat() if n.fulfilled_on else "", n.resource_ref, n.title]
        for n in plan
    ]  # fmt: skip
    return OutTable("needs.csv", columns, rows)


STEPS += [providers_file, resources_file, needs_file]
# --- 析 measure: the social-capital survey, in the autumns of 2024 and 2025 -------------------------------------
#
# Each street ran the social-capital survey (the instrument of ``gongzhi.analytics.survey.instrument``: trust, norms,
# network resources and satisfaction with community governance, three Likert items each) in November, on paper and on
# phones. A share of each community's adults answered (the profile's ``surveyed``; fewer in 2024), people who take part
# in community life a little more willingly. Answers hang together as in a real survey: a respondent's disposition
# colours every item, each scale has a part of its own, and each item its noise (Cronbach's alpha about 0.8). People
# who come to activities trust more and know more people who could help; the community's year shows too: learning and
# deliberation → trust, organisations → norms, outside resources and mixing → network resources, deliberation →
# satisfaction; new citizens where the two groups keep apart know fewer people to turn to.

SURVEY_WEEKS: dict[str, tuple[int, int]] = {JIUBAO: (11, 3), CAIHE: (11, 10)}  # first day of the street's survey
SURVEY_DAYS = 12  # answered over this many days


def _survey_effects(profile: YearProfile) -> dict[str, float]:
    """How a community's year moves the mean of each scale (0 for a typical community)."""
    learning = min(profile.learning, 2.0) - 1
    return {
        "trust": 0.35 * learning + 0.3 * (profile.civic - 1),
        "norms": 0.6 * (profile.groups - 1) + 0.2 * (profile.civic - 1),
        "network": 1.2 * (profile.link - 0.15) + 0.6 * (profile.mixing - 0.5),
        "satisfaction": 0.6 * (profile.civic - 1) + 0.15 * learning,
    }


def survey_answers_file(world: DemoWorld, rng: random.Random) -> OutTable:
    present_count: dict[int, dict[str, int]] = world.extra.get("present_count", {})
    rows: list[list[str]] = []
    for year in YEARS:
        counts = present_count.get(year, {})
        for community in sorted(world.communities, key=lambda c: c.code):
            profile = community.year(year)
            month, first = SURVEY_WEEKS.get(community.street_code, (11, 1))
            opens = datetime.date(year, month, first)
            pool = [
                r for r in world.residents
                if r.community_code == community.code and _adult(r, year) and _on_roll(r, opens)
            ]  # fmt: skip
            weights = [1.0 + 0.1 * min(counts.get(r.ref, 0), 10) for r in pool]
            chosen = _weighted_sample(rng, pool, weights, round(len(pool) * profile.surveyed))
            effects = _survey_effects(profile)
            for r in sorted(chosen, key=lambda r: r.ref):
                answered_on = opens + datetime.timedelta(days=rng.randrange(SURVEY_DAYS))
                taking_part = math.sqrt(min(counts.get(r.ref, 0), 12) / 12)
                apart = (1 - profile.mixing) if r.household == "new_citizen" else 0.0
                disposition = rng.gauss(0, 0.55)
                for scale, items in SURVEY_SCALES.items():
                    mean = 3.0 + effects[scale] + disposition + rng.gauss(0, 0.35)
                    mean += (0.4 if scale == "satisfaction" else 0.8) * taking_part
                    mean -= {"network": 0.35, "trust": 0.2}.get(scale, 0.0) * apart
                    for item in items:
                        value = min(5, max(1, round(mean + rng.gauss(0, 0.6))))
                        rows.append([r.ref, community.code, answered_on.isoformat(), item, str(value)])
    rows.sort(key=lambda row: (row[2], row[1], row[0], SURVEY_ITEMS.index(row[3])))
    columns = ["resident_ref", "community_code", "answered_on", "item", "value"]
    return OutTable("survey_answers.csv", columns, rows)


STEPS += [survey_answers_file]
