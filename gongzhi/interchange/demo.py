"""The demo data generator: a believable slice of Hangzhou's Shangcheng district, written as interchange files.

The demo goes in through the same door as real data: this module writes a CSV folder, and ``seed_demo`` imports it
with ``import_data``. Same seed → byte-identical files.

The world: 浙江省 → 杭州市 → 上城区, two streets named after the paper's places — 九堡街道 (Jiubao, where migrants'
organisations were incubated: ~45 % new citizens) and 采荷街道 (Caihe, an older settled area: ~15 %) — with four
communities each, and a few thousand residents (older-skewed ages, Chinese names, most with a mobile number, ~20 % with
an ID number under 330102, ~3 % moved out).

Adding a file: write a step ``def <file>_file(world, rng) -> OutTable`` and append it to ``STEPS``. A step may read
what earlier steps put in ``world`` (places, residents …) and add its own entities for later steps. Each step draws
from its own random stream (seeded with the seed and the step's name), so a new step never changes the files of the
existing ones.
"""

from __future__ import annotations

import datetime
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class DemoCommunity:
    code: str
    name: str
    street_code: str
    new_citizen_share: float
    weight: float  # relative size


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
            world.communities.append(DemoCommunity(code, name, street_code, share, rng.uniform(0.7, 1.3)))
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


STEPS: list[DemoStep] = [places_file, residents_file, population_file]


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
