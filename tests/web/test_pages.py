import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.core.models import AuditEvent
from gongzhi.people.models import Resident, RoleGrant
from tests import factories
from tests.conftest import ID_A


def _login(client, user):
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_login_and_sees_no_personal_data(client, tree):
    r = factories.resident(tree.comm_a1, name="李秀英", phone="13812345678", id_number=ID_A)
    for url in [reverse("staff_home"), reverse("resident_list"), reverse("resident_detail", args=[r.pk])]:
        resp = client.get(url)
        assert resp.status_code == 302 and resp.url.startswith(reverse("login"))
    page = client.get(reverse("login")).content.decode()
    assert "李秀英" not in page and "13812345678" not in page


def test_login_page_is_chinese(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "登录共治" in page and 'lang="zh-hans"' in page


def test_login_with_phone_and_password(client, tree):
    user = factories.staff("community_worker", tree.comm_a1, phone="13811110000")
    resp = client.post(reverse("login"), {"username": "138 1111 0000", "password": "gongzhi-test-pw"})
    assert resp.status_code == 302
    assert client.get(reverse("home")).url == reverse("staff_home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_wrong_password_gives_chinese_error(client, tree):
    factories.staff("community_worker", tree.comm_a1, phone="13811110001")
    resp = client.post(reverse("login"), {"username": "13811110001", "password": "nope"})
    assert "手机号或密码不正确" in resp.content.decode()


# role × relation → does the resident appear in the list / can the detail page open
CASES = [
    ("community_worker", "comm_a1", "comm_a1", True),
    ("community_worker", "comm_a1", "comm_a2", False),
    ("community_worker", "comm_a1", "other_comm", False),
    ("street_staff", "street_a", "comm_a1", True),
    ("street_staff", "street_a", "comm_a2", True),
    ("street_staff", "street_a", "comm_b1", False),
    ("street_staff", "street_a", "other_comm", False),
    ("admin", "district", "comm_b1", True),
    ("admin", "district", "other_comm", False),
]


@pytest.mark.parametrize(("role", "granted", "lives", "visible"), CASES)
def test_resident_pages_permission_table(client, tree, role, granted, lives, visible):
    user = factories.staff(role, getattr(tree, granted))
    r = factories.resident(getattr(tree, lives), name="周桂兰", ref="R-PERM")
    _login(client, user)
    listing = client.get(reverse("resident_list")).content.decode()
    assert ("R-PERM" in listing) is visible
    detail = client.get(reverse("resident_detail", args=[r.pk]))
    assert detail.status_code == (200 if visible else 404)
    reveal = client.post(reverse("resident_reveal", args=[r.pk]))
    assert reveal.status_code == (200 if visible else 404)
    assert AuditEvent.objects.filter(action="view_personal").exists() is visible


def test_teacher_has_no_staff_pages(client, tree):
    user = factories.staff("teacher", tree.comm_a1)
    _login(client, user)
    assert client.get(reverse("resident_list")).status_code == 403


def test_list_is_masked_and_detail_reveal_shows_full_data_and_audits(client, tree):
    worker = factories.staff("community_worker", tree.comm_a1)
    r = factories.resident(tree.comm_a1, name="李秀英", phone="13812345678", id_number=ID_A)
    _login(client, worker)
    listing = client.get(reverse("resident_list")).content.decode()
    assert "李*英" in listing and "138****5678" in listing and "3301**********123X" in listing
    assert "李秀英" not in listing and "13812345678" not in listing and ID_A not in listing
    detail = client.get(reverse("resident_detail", args=[r.pk])).content.decode()
    assert ID_A not in detail
    revealed = client.post(reverse("resident_reveal", args=[r.pk])).content.decode()
    assert ID_A in revealed and "13812345678" in revealed
    assert AuditEvent.objects.filter(action="view_personal", actor=worker, target_id=str(r.pk)).count() == 1


def test_resident_list_query_count_does_not_grow(client, tree):
    worker = factories.staff("street_staff", tree.street_a)
    _login(client, worker)
    for i in range(3):
        factories.resident(tree.comm_a1, ref=f"A{i}")
    client.get(reverse("resident_list"))  # warm session
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("resident_list")).status_code == 200
    for i in range(40):
        factories.resident(tree.comm_a2 if i % 2 else tree.comm_a1, ref=f"B{i}")
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("resident_list")).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 12


def test_register_resident_bad_input_shows_field_errors_and_writes_nothing(client, tree):
    worker = factories.staff("community_worker", tree.comm_a1)
    _login(client, worker)
    resp = client.post(
        reverse("resident_new"),
        {
            "name": "",
            "community": tree.comm_a1.code,
            "phone": "12345",
            "household": "local",
            "registered_on": "2025-01-01",
            "id_number": ID_A[:17] + "0",
            "birth_year": "1800",
        },
    )
    page = resp.content.decode()
    assert resp.status_code == 200
    for text in ["姓名：", "手机号：", "身份证号（选填）：", "出生年份："]:
        assert text in page, text
    assert Resident.objects.count() == 0


def test_register_resident_in_other_community_is_refused(client, tree):
    worker = factories.staff("community_worker", tree.comm_a1)
    _login(client, worker)
    resp = client.post(
        reverse("resident_new"),
        {
            "name": "王强",
            "community": tree.comm_a2.code,
            "household": "local",
            "registered_on": "2025-01-01",
        },
    )
    assert resp.status_code == 200 and "community" in resp.context["form"].errors
    assert Resident.objects.count() == 0


def test_register_and_edit_resident(client, tree):
    worker = factories.staff("community_worker", tree.comm_a1)
    _login(client, worker)
    resp = client.post(
        reverse("resident_new"),
        {
            "name": "王强",
            "community": tree.comm_a1.code,
            "household": "new_citizen",
            "registered_on": "2025-01-01",
            "phone": "13900002222",
            "gender": "M",
            "birth_year": "1990",
            "id_number": "",
        },
    )
    r = Resident.objects.get()
    assert resp.status_code == 302 and r.name == "王强" and r.household == "new_citizen"
    resp = client.post(
        reverse("resident_edit", args=[r.pk]),
        {
            "name": "王强",
            "community": tree.comm_a1.code,
            "household": "new_citizen",
            "registered_on": "2025-01-01",
            "phone": "13900002222",
            "gender": "M",
            "birth_year": "1991",
            "id_number": ID_A,
        },
    )
    r.refresh_from_db()
    assert resp.status_code == 302 and r.birth_year == 1991 and r.id_number() == ID_A
    assert AuditEvent.objects.filter(target_id=str(r.pk), action__in=["create", "update"]).count() == 2


def test_place_switcher_is_limited_to_grants(client, tree):
    staff = factories.staff("street_staff", tree.street_a)
    _login(client, staff)
    page = client.get(reverse("staff_home")).content.decode()
    assert tree.comm_a1.code in page and tree.comm_b1.code not in page
    client.post(reverse("place_switch"), {"code": tree.comm_a1.code})
    assert client.session["gongzhi_place"] == tree.comm_a1.code
    client.post(reverse("place_switch"), {"code": tree.comm_b1.code})
    assert client.session["gongzhi_place"] == tree.comm_a1.code, "switching outside one's grants is refused"


def test_grant_page_grants_and_revokes_within_rights(client, tree):
    staff = factories.staff("street_staff", tree.street_a)
    _login(client, staff)
    resp = client.post(
        reverse("grant_list"),
        {
            "phone": "13700001111",
            "place": tree.comm_a1.code,
            "role": "community_worker",
            "display_name": "小陈",
        },
    )
    assert resp.status_code == 302
    client.post(
        reverse("grant_list"),
        {"phone": "13700001111", "place": tree.comm_a1.code, "role": "community_worker"},
    )
    assert RoleGrant.objects.filter(user__phone="13700001111").count() == 1, "double submit creates one grant"
    resp = client.post(
        reverse("grant_list"), {"phone": "13700001112", "place": tree.street_a.code, "role": "street_staff"}
    )
    assert "无权" in resp.content.decode()
    grant = RoleGrant.objects.get(user__phone="13700001111")
    client.post(reverse("grant_revoke", args=[grant.pk]))
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()


def test_audit_page_for_admin_only(client, tree):
    admin = factories.staff("admin", tree.district)
    worker = factories.staff("community_worker", tree.comm_a1)
    factories.resident(tree.comm_a1, actor=worker, name="孙丽")
    _login(client, worker)
    assert client.get(reverse("audit_list")).status_code == 403
    _login(client, admin)
    page = client.get(reverse("audit_list")).content.decode()
    assert "登记居民 孙*" in page


def test_resident_home_consent_and_export(client, tree):
    from gongzhi.people import services

    r = factories.resident(tree.comm_a1, name="赵阿姨", phone="13800009999", id_number=ID_A)
    user = services.account_claim(phone="13800009999", password="Zhao-2026-pw")
    _login(client, user)
    assert client.get(reverse("home")).url == reverse("resident_home")
    page = client.get(reverse("resident_home")).content.decode()
    assert "赵阿姨" in page and tree.comm_a1.name in page and ID_A not in page
    client.post(reverse("my_consent"), {"purpose": "platform", "give": "1"})
    assert r.consents.filter(withdrawn_at__isnull=True).count() == 1
    export = client.get(reverse("my_export"))
    assert export.status_code == 200 and export.json()["id_number"] == ID_A
    assert client.get(reverse("resident_list")).status_code == 403


def test_teacher_home_lists_roles_without_staff_navigation(client, tree):
    teacher = factories.staff("teacher", tree.street_a)
    _login(client, teacher)
    page = client.get(reverse("home")).content.decode()
    assert "师资" in page and tree.street_a.name in page
    assert reverse("resident_list") not in page, "navigation shows only what the user can use"


def test_double_submit_of_the_register_form_registers_one_resident(client, tree):
    worker = factories.staff("community_worker", tree.comm_a1)
    _login(client, worker)
    form_page = client.get(reverse("resident_new"))
    ref = form_page.context["form"].initial["ref"]
    data = {
        "ref": ref,
        "name": "吴敏",
        "community": tree.comm_a1.code,
        "household": "local",
        "registered_on": "2025-01-01",
    }
    first = client.post(reverse("resident_new"), data)
    second = client.post(reverse("resident_new"), data)
    assert Resident.objects.count() == 1
    assert first.url == second.url == reverse("resident_detail", args=[Resident.objects.get().pk])


def test_grant_list_masks_phone_numbers(client, tree):
    staff = factories.staff("street_staff", tree.street_a, phone="13912345678")
    _login(client, staff)
    page = client.get(reverse("grant_list")).content.decode()
    assert "139****5678" in page and "13912345678" not in page


def test_resident_erases_own_personal_data_and_account(client, tree):
    from gongzhi.people import services
    from gongzhi.people.models import User

    r = factories.resident(tree.comm_a1, name="赵阿姨", phone="13800007777", id_number=ID_A)
    user = services.account_claim(phone="13800007777", password="Zhao-2026-pw")
    services.consent_give(resident=r, purpose="platform", version="2026-01")
    _login(client, user)
    client.post(reverse("my_erase"), {})  # without the confirmation nothing happens
    r.refresh_from_db()
    assert r.name == "赵阿姨"
    resp = client.post(reverse("my_erase"), {"confirm": "1"})
    assert resp.status_code == 302 and resp.url == reverse("login")
    r.refresh_from_db()
    assert (r.name, r.phone, r.id_number_encrypted, r.id_number_hash, r.user) == ("", "", "", "", None)
    assert r.erased_at is not None and r.household == "local" and r.community_id == tree.comm_a1.code
    assert not User.objects.filter(pk=user.pk).exists()
    assert not r.consents.filter(withdrawn_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="delete", target_id=str(r.pk)).exists()


def test_staff_erases_a_resident_within_their_places_only(client, tree):
    worker = factories.staff("community_worker", tree.comm_a1)
    mine = factories.resident(tree.comm_a1, name="钱多多", phone="13800006666")
    other = factories.resident(tree.comm_a2, name="孙悟", phone="13800005555")
    _login(client, worker)
    assert client.post(reverse("resident_erase", args=[other.pk]), {"confirm": "1"}).status_code == 404
    client.post(reverse("resident_erase", args=[mine.pk]), {"confirm": "1"})
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.name == "" and mine.erased_at and other.name == "孙悟"
    assert "已于" in client.get(reverse("resident_detail", args=[mine.pk])).content.decode()
