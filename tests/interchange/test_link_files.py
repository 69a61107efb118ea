"""providers.csv, resources.csv, needs.csv and activities' resource_refs: import, re-import, errors, export; the demo."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.activities.models import Activity
from gongzhi.interchange.demo import (
    BANK_LECTURE_REF,
    BANK_REF,
    CHILD_HEALTH_DOCTOR_REF,
    ELDERS_PHONE_COURSE_REF,
    POOR_COMMUNITY,
    RICH_COMMUNITY,
    STUDENT_HEALTH_TALKS_REF,
    build_demo,
    catalogue_title,
    generate_demo,
)
from gongzhi.interchange.exporter import export_data
from gongzhi.interchange.importer import ImportFailed, import_data
from gongzhi.resources.models import Need, Provider, Resource

from .conftest import PROVIDERS, RESOURCES, SMALL, write_folder

ACTIVITIES = [
    ["ref", "place_code", "kind", "title", "starts_at", "organization_ref", "resource_refs"],
    ["A1", "330102001000", "course_session", "金融知识讲座", "2025-03-01T09:00:00+08:00", "", "RES1;RES2"],
    ["A2", "330102001001", "course_session", "健康讲座", "2025-04-08T14:00:00+08:00", "", "RES3"],
    ["A3", "330102001002", "deliberation_meeting", "居民议事会", "2025-05-01T19:00:00+08:00", "", ""],
]
NEEDS = [
    ["ref", "community_code", "direction", "resource_kind", "raised_on", "status", "fulfilled_on", "resource_ref",
     "title"],
    ["N1", "330102001001", "survey", "course", "2025-02-10", "fulfilled", "2025-03-01", "RES1", "想学防范电信诈骗"],
    ["N2", "330102001001", "report", "volunteer_service", "2025-03-20", "matched", "", "RES3", ""],
    ["N3", "330102001002", "report", "venue", "2025-04-01", "open", "", "", "周末开放学习室"],
    ["N4", "330102001002", "survey", "course", "2025-04-02", "cancelled", "", "", "晚间瑜伽班"],
    ["N5", "330102001002", "report", "fund", "2025-05-02", "fulfilled", "2025-06-01", "", "楼道读书角"],
]  # fmt: skip
LINK = {"providers.csv": PROVIDERS, "resources.csv": RESOURCES, "activities.csv": ACTIVITIES, "needs.csv": NEEDS}
LINK_FILES = ("providers.csv", "resources.csv", "activities.csv", "needs.csv")
SIZE = 240


def folder(tmp_path: Path, name: str = "link", **changes: list[list[str]]) -> Path:
    files = {**SMALL, **LINK}
    files.update({f"{k}.csv": v for k, v in changes.items()})
    return write_folder(tmp_path / name, files)


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        import_data(path)
    return [e.english() for e in info.value.errors]


def link_state() -> dict[str, list[tuple]]:
    through = Activity.resources.through
    return {
        "providers": list(Provider.objects.order_by("ref").values_list("ref", "name", "kind", "updated_at")),
        "resources": list(
            Resource.objects.order_by("ref").values_list("ref", "provider__ref", "kind", "name", "updated_at")
        ),
        "needs": list(
            Need.objects.order_by("ref").values_list(
                "ref",
                "community_id",
                "direction",
                "resource_kind",
                "raised_on",
                "status",
                "fulfilled_on",
                "resource__ref",
                "title",
                "updated_at",
            )
        ),
        "activities": list(Activity.objects.order_by("ref").values_list("ref", "title", "updated_at")),
        "uses": list(
            through.objects.order_by("activity__ref", "resource__ref").values_list(
                "id", "activity__ref", "resource__ref"
            )
        ),
    }


def uses_of(ref: str) -> list[str]:
    return sorted(Activity.objects.get(ref=ref).resources.values_list("ref", flat=True))


@pytest.mark.django_db
def test_import_then_reimport_changes_nothing(tmp_path: Path) -> None:
    report = import_data(folder(tmp_path))

    counts = {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}
    assert {name: counts[name] for name in LINK_FILES} == {
        "providers.csv": (2, 0, 0), "resources.csv": (3, 0, 0), "activities.csv": (3, 0, 0), "needs.csv": (5, 0, 0),
    }  # fmt: skip
    assert Provider.objects.get(ref="P1").kind == "bank" and Provider.objects.get(ref="P1").place is None
    res1 = Resource.objects.get(ref="RES1")
    assert (res1.provider.ref, res1.kind, res1.name) == ("P1", "course", "金融知识讲座（防范电信诈骗）")
    assert uses_of("A1") == ["RES1", "RES2"] and uses_of("A2") == ["RES3"] and uses_of("A3") == []
    n1 = Need.objects.get(ref="N1")
    assert (n1.community_id, n1.direction, n1.status, n1.resource.ref, n1.title) == (
        "330102001001", "survey", "fulfilled", "RES1", "想学防范电信诈骗",
    )  # fmt: skip
    assert n1.raised_on == datetime.date(2025, 2, 10) and n1.fulfilled_on == datetime.date(2025, 3, 1)
    n2 = Need.objects.get(ref="N2")
    assert (n2.status, n2.resource.ref, n2.fulfilled_on, n2.title) == ("matched", "RES3", None, "需求 N2")
    assert Need.objects.get(ref="N5").resource is None  # fulfilled by the community itself
    before = link_state()

    again = import_data(folder(tmp_path, "again"))

    assert not again.changed
    assert {n: c.unchanged for n, c in again.counts().items() if n in LINK_FILES} == {
        "providers.csv": 2, "resources.csv": 3, "activities.csv": 3, "needs.csv": 5,
    }  # fmt: skip
    assert link_state() == before  # the through rows too: same ids, nothing deleted and re-added


@pytest.mark.django_db
def test_resource_refs_replace_the_set_of_an_activity(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    kept = Activity.resources.through.objects.get(activity__ref="A1", resource__ref="RES2").pk
    a2_updated = Activity.objects.get(ref="A2").updated_at
    activities = [
        ACTIVITIES[0],
        [*ACTIVITIES[1][:6], "RES2;RES3;RES2"],  # RES1 goes, RES3 comes, RES2 stays (a repeat is harmless)
        ACTIVITIES[2],
        [*ACTIVITIES[3][:6], "RES1"],
    ]

    report = import_data(folder(tmp_path, "v2", activities=activities))

    c = report.counts()["activities.csv"]
    assert (c.created, c.updated, c.unchanged) == (0, 2, 1)
    assert uses_of("A1") == ["RES2", "RES3"] and uses_of("A3") == ["RES1"]
    assert Activity.resources.through.objects.get(activity__ref="A1", resource__ref="RES2").pk == kept
    assert Activity.objects.get(ref="A2").updated_at == a2_updated

    # An empty cell empties the set.
    activities[1] = [*ACTIVITIES[1][:6], ""]
    import_data(folder(tmp_path, "v3", activities=activities))
    assert uses_of("A1") == []
    assert not import_data(folder(tmp_path, "v4", activities=activities)).changed


@pytest.mark.django_db
def test_changed_rows_update_and_an_empty_title_keeps_the_stored_one(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    providers = [PROVIDERS[0], [PROVIDERS[1][0], "之江健康职业学院", "university"], PROVIDERS[2]]
    resources = [RESOURCES[0], ["RES1", "P2", "course", "金融知识讲座（防范电信诈骗）"], *RESOURCES[2:]]
    needs = [NEEDS[0], [*NEEDS[1][:-1], ""], ["N2", *NEEDS[2][1:5], "fulfilled", "2025-04-20", "RES3", ""], *NEEDS[3:]]

    report = import_data(folder(tmp_path, "v2", providers=providers, resources=resources, needs=needs))

    counts = {name: (c.created, c.updated, c.unchanged) for name, c in report.counts().items()}
    assert counts["providers.csv"] == (0, 1, 1)
    assert counts["resources.csv"] == (0, 1, 2)
    assert counts["needs.csv"] == (0, 1, 4)
    assert Resource.objects.get(ref="RES1").provider.ref == "P2"
    assert Need.objects.get(ref="N1").title == "想学防范电信诈骗"  # an empty cell keeps the stored title
    n2 = Need.objects.get(ref="N2")
    assert (n2.status, n2.fulfilled_on) == ("fulfilled", datetime.date(2025, 4, 20))


@pytest.mark.django_db
def test_every_bad_cell_is_reported_with_file_row_and_column_and_nothing_is_written(tmp_path: Path) -> None:
    providers = [*PROVIDERS, ["P3", "", "charity"]]
    resources = [*RESOURCES, ["RES4", "P9", "money", "x"], ["RES5", "P1", "fund", ""]]
    activities = [*ACTIVITIES, ["A4", "330102001001", "course_session", "讲座", "2025-06-01T09:00:00+08:00", "",
                                "RES1;RES9;" + "R" * 65]]  # fmt: skip
    needs = [
        *NEEDS,
        ["N6", "330102001000", "up", "course", "2025-01-01", "open", "", "", ""],
        ["N7", "330102001001", "report", "lesson", "2025-05-01", "fulfilled", "", "RES8", ""],
        ["N8", "330102001001", "report", "course", "2025-05-01", "fulfilled", "2025-04-30", "", ""],
        ["N9", "330102001001", "report", "course", "2025-05-01", "matched", "", "", ""],
        ["N10", "330102001001", "report", "course", "2025-05-01", "open", "2025-06-01", "RES1", ""],
        ["N11", "330102001009", "report", "course", "2025/05/01", "done", "", "", ""],
    ]

    errors = errors_of(folder(tmp_path, providers=providers, resources=resources, activities=activities, needs=needs))

    text = "\n".join(errors)
    assert "providers.csv, row 4, column name: 必填，不能为空" in text
    assert "providers.csv, row 4, column kind: 应为 company（企业）、university（高校）、bank（银行）" in text
    assert "resources.csv, row 5, column kind: 应为 venue（场地/学习空间）" in text
    assert "resources.csv, row 6, column name: 必填，不能为空" in text
    assert "activities.csv, row 5, column resource_refs: 资源编号不能超过 64 个字符" in text
    assert "needs.csv, row 7, column community_code: 应为社区/村一级的区划代码" in text
    assert "needs.csv, row 7, column direction: 应为 survey（需求调查（自上而下））" in text
    assert "needs.csv, row 8, column resource_kind: 应为 venue" in text
    assert "needs.csv, row 8, column fulfilled_on: 状态为 fulfilled（已满足）的需求必须填写满足日期" in text
    assert "needs.csv, row 9, column fulfilled_on: 满足日期 2025-04-30 不能早于提出日期 2025-05-01" in text
    assert "needs.csv, row 10, column resource_ref: 状态为 matched（已匹配）的需求必须填写所匹配的资源编号" in text
    assert "needs.csv, row 11, column fulfilled_on: 状态为 open（待匹配）的需求不能有满足日期" in text
    assert "needs.csv, row 11, column resource_ref: 状态为 open（待匹配）的需求还没有匹配资源" in text
    assert "needs.csv, row 12, column raised_on: 日期应为 YYYY-MM-DD 格式" in text
    assert "needs.csv, row 12, column status: 应为 open（待匹配）" in text
    assert not Provider.objects.exists() and not Resource.objects.exists()
    assert not Need.objects.exists() and not Activity.objects.exists()


@pytest.mark.django_db
def test_unknown_refs_across_files_are_reported(tmp_path: Path) -> None:
    resources = [*RESOURCES, ["RES4", "P9", "course", "未知资源方的课程"]]
    activities = [*ACTIVITIES, ["A4", "330102001001", "course_session", "讲座", "2025-06-01T09:00:00+08:00", "",
                                "RES1;RES9"]]  # fmt: skip
    needs = [*NEEDS, ["N6", "330102001001", "report", "course", "2025-05-01", "matched", "", "RES8", ""],
             ["N7", "330102009001", "report", "course", "2025-05-01", "open", "", "", ""]]  # fmt: skip

    errors = errors_of(folder(tmp_path, resources=resources, activities=activities, needs=needs))

    assert errors == [
        "resources.csv, row 5, column provider_ref: 资源方 P9 不存在（系统中没有，本次导入的 providers.csv 中也没有）",
        "activities.csv, row 5, column resource_refs: 资源 RES9 不存在（系统中没有，本次导入的 resources.csv 中也没有）",
        "needs.csv, row 7, column resource_ref: 资源 RES8 不存在（系统中没有，本次导入的 resources.csv 中也没有）",
        "needs.csv, row 8, column community_code: 社区 330102009001 不存在（系统中没有，本次导入的 places.csv 中也没有）",
    ]
    assert not Resource.objects.exists() and not Need.objects.exists()


@pytest.mark.django_db
def test_files_refer_to_the_database(tmp_path: Path) -> None:
    """A later import may bring activities or needs alone, naming resources already stored."""
    import_data(folder(tmp_path))
    activities = [ACTIVITIES[0], ["A9", "330102001002", "course_session", "讲座", "2025-07-01T09:00:00+08:00", "",
                                  "RES3;RES1"]]  # fmt: skip
    needs = [NEEDS[0], ["N9", "330102001002", "report", "teacher", "2025-06-01", "matched", "", "RES2", ""]]
    report = import_data(write_folder(tmp_path / "later", {"activities.csv": activities, "needs.csv": needs}))
    assert report.counts()["activities.csv"].created == 1 and report.counts()["needs.csv"].created == 1
    assert uses_of("A9") == ["RES1", "RES3"]
    # A broken resources.csv silences the checks that depend on it (its own error is the one reported).
    errors = errors_of(
        write_folder(tmp_path / "broken", {"resources.csv": [["ref", "kind"]], "activities.csv": activities})
    )
    assert errors == [
        "resources.csv, row 1, column provider_ref: 缺少必需的列“provider_ref”",
        "resources.csv, row 1, column name: 缺少必需的列“name”",
    ]


@pytest.mark.django_db
def test_export_round_trip_is_byte_identical(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    before = link_state()
    out = tmp_path / "out"

    counts = export_data(out)

    assert {k: counts[k] for k in LINK_FILES} == {
        "providers.csv": 2, "resources.csv": 3, "activities.csv": 3, "needs.csv": 5,
    }  # fmt: skip
    read = {name: (out / name).read_text(encoding="utf-8").splitlines() for name in LINK_FILES}
    assert read["providers.csv"] == [",".join(r) for r in PROVIDERS]
    assert read["resources.csv"] == [",".join(r) for r in RESOURCES]
    assert (
        read["activities.csv"][1] == "A1,330102001000,course_session,金融知识讲座,2025-03-01T09:00:00+08:00,,RES1;RES2"
    )
    assert read["needs.csv"][0] == ",".join(NEEDS[0][:-1])  # the title is import-only
    assert read["needs.csv"][1:3] == [
        "N1,330102001001,survey,course,2025-02-10,fulfilled,2025-03-01,RES1",
        "N2,330102001001,report,volunteer_service,2025-03-20,matched,,RES3",
    ]
    assert not import_data(out).changed
    assert link_state() == before

    # Into an empty system: the export imports on its own, and exports again byte for byte.
    Need.objects.all().delete()
    Activity.objects.all().delete()
    Resource.objects.all().delete()
    Provider.objects.all().delete()
    report = import_data(out)
    assert report.counts()["needs.csv"].created == 5
    again = tmp_path / "again"
    export_data(again)
    for name in counts:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.django_db
def test_export_under_a_place_carries_what_its_files_name(tmp_path: Path) -> None:
    import_data(folder(tmp_path))
    sub = tmp_path / "sub"

    counts = export_data(sub, place_code="330102001002")

    # 甲二社区: A3 (no resources) and N3–N5 (none matched): no resource is named, so none is carried.
    assert (counts["activities.csv"], counts["needs.csv"], counts["resources.csv"], counts["providers.csv"]) == (
        1, 3, 0, 0,
    )  # fmt: skip
    counts = export_data(tmp_path / "a1", place_code="330102001001")
    # 甲一社区: A2 used RES3 and N1/N2 name RES1 and RES3 → those resources and their providers.
    lines = (tmp_path / "a1" / "resources.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == ["RES1", "RES3"]
    assert counts["providers.csv"] == 2

    # The street's export imports on its own into an empty system.
    export_data(tmp_path / "street", place_code="330102001000")
    Need.objects.all().delete()
    Activity.objects.all().delete()
    Resource.objects.all().delete()
    Provider.objects.all().delete()
    report = import_data(tmp_path / "street")
    assert report.counts()["resources.csv"].created == 3 and report.counts()["needs.csv"].created == 5
    assert uses_of("A1") == ["RES1", "RES2"]


@pytest.mark.django_db
def test_export_under_a_place_includes_providers_registered_or_paired_there(tmp_path: Path) -> None:
    from gongzhi.resources.models import Pairing

    import_data(folder(tmp_path))
    Provider.objects.filter(ref="P2").update(place_id="330102001002")
    Pairing.objects.create(
        provider=Provider.objects.get(ref="P1"), place_id="330102001002", starts_on=datetime.date(2025, 1, 1),
        commitments="金融知识讲座每季度一次",
    )  # fmt: skip
    counts = export_data(tmp_path / "a2", place_code="330102001002")
    assert counts["providers.csv"] == 2 and counts["resources.csv"] == 3


@pytest.mark.django_db
def test_query_count_does_not_grow_with_rows(tmp_path: Path) -> None:
    def files(n: int) -> Path:
        activities = [ACTIVITIES[0]] + [
            [f"Q{i:04d}", "330102001001", "course_session", f"讲座{i}", "2025-03-01T09:00:00+08:00", "",
             ["RES1", "RES2;RES3", ""][i % 3]]
            for i in range(n)
        ]  # fmt: skip
        needs = [NEEDS[0]] + [
            [f"NQ{i:04d}", "330102001001", "report", "course", "2025-02-01", "matched", "", "RES1", ""]
            for i in range(n)
        ]
        return write_folder(
            tmp_path / f"n{n}",
            {**SMALL, "providers.csv": PROVIDERS, "resources.csv": RESOURCES, "activities.csv": activities,
             "needs.csv": needs},
        )  # fmt: skip

    import_data(files(5))
    small, large = files(20), files(400)
    with CaptureQueriesContext(connection) as first:
        import_data(small)  # 5 unchanged + 15 new, in activities.csv and needs.csv
    with CaptureQueriesContext(connection) as second:
        import_data(large)  # 20 unchanged + 380 new

    def selects(ctx: CaptureQueriesContext) -> int:
        return sum(q["sql"].startswith("SELECT") for q in ctx.captured_queries)

    assert selects(second) == selects(first)
    assert len(second) < len(first) + 3 * 400 // 50
    with CaptureQueriesContext(connection) as exported:
        export_data(tmp_path / "out")
    assert len(exported) < 40


# --- the demo ------------------------------------------------------------------------------------------------------


def test_demo_link_files_are_believable() -> None:
    world, tables = build_demo(seed=2026, residents=3600)
    rows = {t.name: list(t.rows) for t in tables}
    providers = {p[0]: p for p in rows["providers.csv"]}
    resources = {r[0]: r for r in rows["resources.csv"]}
    assert providers[BANK_REF][2] == "bank" and resources[BANK_LECTURE_REF][1] == BANK_REF
    assert {p[2] for p in providers.values()} >= {"company", "university", "bank", "hospital", "ngo", "government"}
    assert {r[2] for r in resources.values()} == {"venue", "teacher", "course", "fund", "volunteer_service", "other"}
    activities = rows["activities.csv"]
    street_of = {c.code: c.street_code for c in world.communities}

    def used(ref: str) -> list[list[str]]:
        return [a for a in activities if ref in a[6].split(";")]

    assert all(
        catalogue_title(a[3]) == "健康养生大讲堂" or a[2] != "course_session" or "社区学校" in a[3]
        for a in used(STUDENT_HEALTH_TALKS_REF)
    )
    assert {a[3] for a in used(ELDERS_PHONE_COURSE_REF)} == {"智能手机轻松学"}  # a course new in 2025
    assert {"婴幼儿科学喂养", "家庭教育大讲堂"} <= {a[3] for a in used(CHILD_HEALTH_DOCTOR_REF)}
    assert any(street_of.get(a[1], a[1]) == "330102011000" for a in used(BANK_LECTURE_REF))
    # Communities differ: one rich in outside resources, one with few (METHOD.md III4: share of activities).
    share = {}
    for code in (RICH_COMMUNITY, POOR_COMMUNITY):
        held = [a for a in activities if a[1] == code]
        share[code] = sum(1 for a in held if a[6]) / len(held)
    assert share[RICH_COMMUNITY] > 0.3 > 0.1 > share[POOR_COMMUNITY]
    needs = rows["needs.csv"]
    by_status: dict[str, int] = {}
    for n in needs:
        by_status[n[5]] = by_status.get(n[5], 0) + 1
        assert n[5] != "fulfilled" or n[6] >= n[4]
        if n[5] == "fulfilled" and n[7]:
            # fulfilled by a resource an activity reaching the community used on that day
            assert any(
                a[4][:10] == n[6] and n[7] in a[6].split(";") and a[1] in (n[1], street_of[n[1]]) for a in activities
            )
    assert set(by_status) == {"open", "matched", "fulfilled", "cancelled"}
    fulfilled = {
        code: sum(1 for n in needs if n[1] == code and n[5] == "fulfilled" and n[7])
        for code in (RICH_COMMUNITY, POOR_COMMUNITY)
    }
    assert fulfilled[RICH_COMMUNITY] >= 3 and fulfilled[POOR_COMMUNITY] == 0
    assert {n[2] for n in needs} == {"survey", "report"}


@pytest.mark.django_db
def test_demo_link_files_import(tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo", seed=11, residents=SIZE)
    report = import_data(tmp_path / "demo")
    assert report.counts()["providers.csv"].created == Provider.objects.count() == 15
    assert Activity.resources.through.objects.count() > 20
    assert Need.objects.filter(status="fulfilled", resource__isnull=False).exists()
    assert not import_data(tmp_path / "demo").changed
