import pytest
from django.db import connection

from gongzhi.core.errors import Conflict, DomainError
from gongzhi.people import protection, selectors, services
from gongzhi.people.models import Resident
from tests import factories
from tests.conftest import ID_A, ID_B


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张小明", "张*明"), ("欧阳小明", "欧**明"), ("王", "王")]
)
def test_mask_name(name, masked):
    assert protection.mask_name(name) == masked


def test_mask_phone_and_id():
    assert protection.mask_phone("13812345678") == "138****5678"
    assert protection.mask_id_number(ID_A) == "3301**********123X"


@pytest.mark.parametrize("phone", ["+86 138-1234-5678", "8613812345678", "13812345678"])
def test_mobile_normalised(phone):
    assert protection.normalise_mobile(phone) == "13812345678"


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "abc", ""])
def test_bad_mobile_refused(phone):
    with pytest.raises(protection.PersonalDataError):
        protection.normalise_mobile(phone)


def test_id_check_digit():
    assert protection.normalise_id_number(ID_A.lower()) == ID_A
    assert protection.normalise_id_number(ID_B) == ID_B
    wrong = ID_A[:17] + ("1" if ID_A[17] != "1" else "2")
    with pytest.raises(protection.PersonalDataError, match="校验位"):
        protection.normalise_id_number(wrong)


def test_id_number_encrypted_at_rest_findable_and_masked(tree):
    r = factories.resident(tree.comm_a1, name="李华", id_number=ID_A, phone="13812345678")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT * FROM people_resident WHERE id = %s",
            [r.pk.hex if connection.vendor == "sqlite" else r.pk],
        )
        raw = " ".join(str(v) for v in cur.fetchone())
    assert ID_A not in raw
    assert r.id_number_masked == "3301**********123X"
    assert Resident.objects.get(pk=r.pk).id_number() == ID_A
    staff = factories.staff("community_worker", tree.comm_a1)
    assert list(selectors.residents_visible(user=staff, search=ID_A)) == [r]


def test_same_id_number_cannot_be_registered_twice(tree):
    factories.resident(tree.comm_a1, id_number=ID_A)
    with pytest.raises(Conflict):
        factories.resident(tree.comm_a2, id_number=ID_A)
    assert Resident.objects.count() == 1


def test_bad_input_changes_nothing(tree):
    with pytest.raises(DomainError) as exc:
        factories.resident(tree.comm_a1, id_number=ID_A[:17] + "0" if ID_A[17] != "0" else "1")
    assert "id_number" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        factories.resident(tree.street_a)  # a street is not a community
    assert "community" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        factories.resident(tree.comm_a1, phone="12345")
    assert "phone" in exc.value.fields
    assert Resident.objects.count() == 0


def test_reveal_is_audited(tree):
    from gongzhi.core.models import AuditEvent

    r = factories.resident(tree.comm_a1, id_number=ID_A)
    worker = factories.staff("community_worker", tree.comm_a1)
    data = services.resident_reveal(actor=worker, resident=r)
    assert data["id_number"] == ID_A
    event = AuditEvent.objects.filter(action="view_personal").get()
    assert event.actor == worker and event.place_code == tree.comm_a1.code and ID_A not in event.summary


def test_update_writes_only_changed_fields_and_audits_without_values(tree):
    from gongzhi.core.models import AuditEvent

    r = factories.resident(tree.comm_a1, name="王芳")
    services.resident_update(actor=None, resident=r, phone="13900001111", id_number=ID_B)
    r.refresh_from_db()
    assert r.phone == "13900001111" and r.id_number() == ID_B
    event = AuditEvent.objects.filter(action="update").latest("id")
    assert event.changes == {"fields": ["id_number", "phone"]}
    assert "13900001111" not in str(event.changes)


def test_database_refuses_a_second_resident_with_the_same_id_hash(tree):
    """Even a write that skips the service's check (a concurrent one) cannot store one ID number twice."""
    from django.db import IntegrityError, transaction

    a = factories.resident(tree.comm_a1, id_number=ID_A)
    b = factories.resident(tree.comm_a1, name="另一人")
    b.id_number_hash = a.id_number_hash
    with pytest.raises(IntegrityError), transaction.atomic():
        b.save(update_fields=["id_number_hash"])


@pytest.mark.parametrize("field", ["name", "household", "registered_on", "community"])
def test_update_refuses_to_empty_a_required_field(tree, field):
    r = factories.resident(tree.comm_a1, name="王芳")
    with pytest.raises(DomainError) as exc:
        services.resident_update(actor=None, resident=r, **{field: None})
    assert field in exc.value.fields
    r.refresh_from_db()
    assert r.name == "王芳"
