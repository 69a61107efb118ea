import pytest

from gongzhi.people import services
from tests import factories
from tests.conftest import ID_A

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def test_staff_logs_in_switches_place_and_finds_a_masked_resident(live_server, desk, tree):
    staff = factories.staff("street_staff", tree.street_a, phone="13900000002")
    tree.street_a.name, tree.comm_a1.name, tree.comm_a2.name = "九堡街道", "九堡社区", "客运中心社区"
    for p in (tree.street_a, tree.comm_a1, tree.comm_a2):
        p.save()
    factories.resident(tree.comm_a2, name="陈美华", phone="13812345678", id_number=ID_A, ref="R-0001")
    factories.resident(tree.comm_a1, name="刘建国", household="new_citizen", ref="R-0002")
    factories.resident(tree.comm_b1, name="不该出现", ref="R-0003")

    _login(desk, live_server.url, staff.phone)
    desk.get_by_role("heading", name="九堡街道").wait_for()
    shot(desk, "staff-home")

    desk.get_by_label("当前区划").select_option(tree.comm_a2.code)
    desk.get_by_role("heading", name="客运中心社区").wait_for()

    desk.get_by_role("link", name="居民名册").first.click()
    desk.get_by_placeholder("姓名、编号、手机号或身份证号").fill("陈")
    row = desk.locator("table.residents tbody tr").first
    row.get_by_text("陈*华").wait_for()
    body = desk.content()
    assert "陈美华" not in body and "13812345678" not in body and ID_A not in body
    assert "138****5678" in body and "3301**********123X" in body
    assert "刘*国" not in body, "a resident of another community is filtered out after switching"
    assert "不该出现" not in body
    shot(desk, "staff-residents")

    row.get_by_role("link", name="陈*华").click()
    desk.get_by_role("button", name="查看完整信息（将记录在审计日志）").click()
    desk.get_by_text(ID_A).wait_for()
    desk.get_by_text("本次查看已记入审计日志。").wait_for()


def test_resident_logs_in_on_a_phone_and_sees_home(live_server, phone, tree):
    tree.comm_a1.name = "九堡社区"
    tree.comm_a1.save()
    factories.resident(tree.comm_a1, name="赵桂芳", phone="13900000011", id_number=ID_A)
    services.account_claim(phone="13900000011", password="Zhao-2026-pw")

    _login(phone, live_server.url, "13900000011", "Zhao-2026-pw")
    phone.get_by_role("heading", name="赵桂芳，您好").wait_for()
    assert phone.get_by_text("您是 九堡社区 的居民").is_visible()
    assert "3301**********123X" in phone.content() and ID_A not in phone.content()
    # Nothing wider than the phone screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("li", has_text="使用平台服务").get_by_role("button", name="同意").click()
    phone.get_by_text("已记录您的同意").wait_for()
    shot(phone, "resident-home-phone")


def test_resident_claims_an_account_with_a_code(live_server, phone, tree):
    from gongzhi.people.sms import MemorySender

    MemorySender.outbox.clear()
    factories.resident(tree.comm_a1, name="钱阿婆", phone="13900000021")
    phone.goto(f"{live_server.url}/accounts/claim/")
    phone.get_by_label("手机号").fill("13900000021")
    phone.get_by_role("button", name="发送验证码").click()
    phone.get_by_text("验证码已发送").wait_for()
    code = MemorySender.outbox[-1][1].split("验证码是 ")[1][:6]
    phone.get_by_label("验证码").fill(code)
    phone.get_by_label("设置密码").fill("Qian-2026-pw")
    phone.get_by_role("button", name="开通账号").click()
    phone.get_by_role("heading", name="钱阿婆，您好").wait_for()
