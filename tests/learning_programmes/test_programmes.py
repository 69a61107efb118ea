"""Programme and level services: validation with Chinese messages naming the field, the lock on a level's criteria
once certificates exist (and the new version that lifts it), status changes, idempotent repeats, audit."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import Conflict, DomainError
from gongzhi.core.models import AuditEvent
from gongzhi.learning import services as learning
from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.certificates import certificate_issue
from gongzhi.learning.models import CredentialLevel, CredentialProgramme
from gongzhi.people.models import Role
from tests import factories

from .conftest import LEVEL1, LEVEL2

pytestmark = pytest.mark.django_db

POINTS = {"kind": "points", "min": 10}


def test_programme_create_validates_and_is_idempotent(tree):
    with pytest.raises(DomainError) as exc:
        programmes.programme_create(actor=None, place=tree.street_a, name="  ", validity_months=0)
    assert exc.value.fields == {"name": ["必填"], "validity_months": ["应在 1 到 240 个月之间，留空表示长期有效"]}
    other_series = learning.series_create(actor=None, place=tree.street_b, name="别处的系列")
    with pytest.raises(DomainError) as exc:
        programmes.programme_create(actor=None, place=tree.street_a, name="执照", series=other_series)
    assert exc.value.fields == {"series": ["主题系列不属于该区划"]}
    assert not CredentialProgramme.objects.exists()

    a = programmes.programme_create(actor=None, place=tree.street_a, name="星级家长执照", description="说明")
    b = programmes.programme_create(actor=None, place=tree.street_a, name=" 星级家长执照 ", description="说明")
    assert a.pk == b.pk and a.status == "draft"
    with pytest.raises(Conflict) as exc:
        programmes.programme_create(actor=None, place=tree.street_a, name="星级家长执照", description="另一个")
    assert exc.value.fields == {"name": ["该区划已有同名的认证项目"]}
    # a district programme may use a street's series (its subtree)
    series = learning.series_create(actor=None, place=tree.street_a, name="科学育儿")
    district = programmes.programme_create(actor=None, place=tree.district, name="区级执照", series=series)
    assert district.series == series
    assert AuditEvent.objects.filter(target_type="credential_programme", action="create").count() == 2


def test_level_criteria_are_validated_with_the_item_and_field_named(tree):
    p = programmes.programme_create(actor=None, place=tree.street_a, name="执照")
    with pytest.raises(DomainError) as exc:
        programmes.level_create(
            actor=None,
            programme=p,
            rank=1,
            name="一星",
            criteria={"all": [POINTS, {"kind": "sessions_attended", "min": 0}, {"kind": "likes", "min": 1}]},
        )
    assert exc.value.fields == {
        "criteria": [
            "第 2 项「最少」：必须是 1 到 1000000 之间的整数",
            "第 3 项「条件类型」：不认识的条件类型“likes”",
        ]
    }
    elsewhere = learning.series_create(actor=None, place=tree.street_b, name="别处")
    with pytest.raises(DomainError) as exc:
        programmes.level_create(
            actor=None,
            programme=p,
            rank=1,
            name="一星",
            criteria={"any": [POINTS, {"kind": "points", "min": 5, "series": str(elsewhere.pk)}]},
        )
    assert exc.value.fields == {"criteria": ["第 2 项「主题系列」：找不到该主题系列，或它不属于本项目的区划"]}
    with pytest.raises(DomainError) as exc:
        programmes.level_create(
            actor=None, programme=p, rank=1, name="一星", criteria={"kind": "level_held", "rank": 1}
        )
    assert exc.value.fields == {"criteria": ["条件「级别」：只能要求低于本级别的级别"]}
    with pytest.raises(DomainError) as exc:
        programmes.level_create(actor=None, programme=p, rank=2, name="", criteria={"kind": "level_held", "rank": 1})
    assert exc.value.fields == {"name": ["必填"], "criteria": ["条件「级别」：本项目没有第 1 级"]}
    assert not CredentialLevel.objects.exists()


def test_level_create_normalises_and_repeats_return_the_first(tree):
    p = programmes.programme_create(actor=None, place=tree.street_a, name="执照")
    series = learning.series_create(actor=None, place=tree.street_a, name="科学育儿")
    criteria = {"all": [{"min": 10, "kind": "points", "series": str(series.pk).upper()}]}
    a = programmes.level_create(actor=None, programme=p, rank=1, name="一星", criteria=criteria)
    assert a.criteria == {"all": [{"kind": "points", "min": 10, "series": str(series.pk)}]}
    b = programmes.level_create(actor=None, programme=p, rank=1, name="一星", criteria=criteria)
    assert a.pk == b.pk
    with pytest.raises(Conflict) as exc:
        programmes.level_create(actor=None, programme=p, rank=1, name="另一个一星", criteria=criteria)
    assert exc.value.fields == {"rank": ["第 1 级已存在"]}


def test_activate_needs_a_level_and_retire_keeps_it_idempotent(tree):
    p = programmes.programme_create(actor=None, place=tree.street_a, name="执照")
    with pytest.raises(DomainError) as exc:
        programmes.programme_activate(actor=None, programme=p)
    assert exc.value.code == "no_levels"
    programmes.level_create(actor=None, programme=p, rank=1, name="一星", criteria=POINTS)
    assert programmes.programme_activate(actor=None, programme=p).status == "active"
    assert programmes.programme_activate(actor=None, programme=p).status == "active"
    assert programmes.programme_retire(actor=None, programme=p).status == "retired"
    changes = AuditEvent.objects.filter(target_type="credential_programme", action="update").count()
    assert changes == 2  # the repeated activation left no trace


def test_a_level_with_certificates_keeps_its_criteria_until_a_new_version(tree, licence):
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    r = factories.resident(tree.comm_a1)
    level1 = licence.levels[0]
    certificate_issue(actor=staff, resident=r, level=level1)

    with pytest.raises(Conflict) as exc:
        programmes.level_update(actor=staff, level=level1, rank=1, name=LEVEL1, criteria=POINTS)
    assert exc.value.code == "level_in_use"
    assert "该级别已颁发 1 张证书" in exc.value.message and "另存为新版本" in exc.value.message
    with pytest.raises(Conflict):
        programmes.level_update(actor=staff, level=level1, rank=4, name=LEVEL1, criteria=level1.criteria)
    level1.refresh_from_db()
    assert level1.rank == 1 and level1.criteria != POINTS
    # the name and description may still change
    renamed = programmes.level_update(
        actor=staff, level=level1, rank=1, name="一星家长（入门）", description="入门级", criteria=level1.criteria
    )
    assert renamed.name == "一星家长（入门）"
    # the new version: a draft copy with the same levels, whose criteria can change
    copy = programmes.programme_copy(actor=staff, programme=licence.programme)
    assert copy.status == "draft" and copy.name == "星级家长执照（第 2 版）" and copy.place_id == tree.street_a.code
    copied = list(copy.levels.order_by("rank"))
    assert [(lv.rank, lv.name) for lv in copied] == [(1, "一星家长（入门）"), (2, LEVEL2), (3, "三星家长")]
    assert [lv.criteria for lv in copied] == [lv.criteria for lv in licence.programme.levels.order_by("rank")]
    changed = programmes.level_update(actor=staff, level=copied[0], rank=1, name="一星", criteria=POINTS)
    assert changed.criteria == POINTS
    assert programmes.programme_copy(actor=staff, programme=licence.programme).name == "星级家长执照（第 3 版）"


def test_rank_change_and_delete_refused_while_another_level_requires_it(tree, licence):
    level1, level2, level3 = licence.levels
    with pytest.raises(Conflict) as exc:
        programmes.level_update(actor=None, level=level1, rank=5, name=LEVEL1, criteria=level1.criteria)
    assert exc.value.fields == {"rank": ["级别“二星家长”的条件要求持有本级别，不能改变级别序号"]}
    with pytest.raises(Conflict):
        programmes.level_delete(actor=None, level=level2)
    programmes.level_delete(actor=None, level=level3)
    assert list(licence.programme.levels.values_list("rank", flat=True)) == [1, 2]


def test_the_last_level_of_an_active_programme_stays(tree):
    p = programmes.programme_create(actor=None, place=tree.street_a, name="执照")
    only = programmes.level_create(actor=None, programme=p, rank=1, name="一星", criteria=POINTS)
    programmes.programme_activate(actor=None, programme=p)
    with pytest.raises(Conflict):
        programmes.level_delete(actor=None, level=only)
    programmes.programme_retire(actor=None, programme=p)
    programmes.level_delete(actor=None, level=only)
    assert not p.levels.exists()
