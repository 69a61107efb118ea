"""Journey (析 measure pipeline): a street's staff change the settings (a bad threshold is refused in Chinese), request
a recompute of 2025 and watch it finish in the computations table (htmx polling); a community worker sees both pages
but no forms; the pages fit a phone."""

from __future__ import annotations

import pytest
from django.test import override_settings

from gongzhi.analytics.models import Computation, MeasureSettings
from gongzhi.people.models import Role
from tests import factories
from tests.analytics_support import measured_world

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone_number):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone_number)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


@override_settings(ANALYTICS_INLINE=False)
def test_settings_and_a_recompute_at_the_desk_and_on_a_phone(live_server, desk, phone, tree):
    base = live_server.url.replace("localhost", "127.0.0.1")
    for page in (desk, phone):
        page.set_default_timeout(30_000)  # a loaded CI machine
    for place, name in ((tree.street_a, "九堡街道"), (tree.comm_a1, "九堡社区"), (tree.comm_a2, "三村社区")):
        place.name = name
        place.save()
    measured_world(tree, periods=("2024",))
    staff = factories.staff(Role.STREET_STAFF, tree.street_a, phone="13900000102")
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1, phone="13900000104")
    assert staff and worker

    _login(desk, base, "13900000102")
    desk.goto(f"{base}/staff/measure/settings/")
    desk.get_by_label("短板阈值").fill("120")
    desk.get_by_role("button", name="保存为新版本").click()
    desk.wait_for_load_state()
    assert "短板阈值：" in desk.locator(".has-error").first.inner_text()
    assert not MeasureSettings.objects.exists()
    desk.get_by_label("短板阈值").fill("65")
    desk.get_by_label("修改说明").fill("街道提高短板阈值")
    desk.get_by_role("button", name="保存为新版本").click()
    desk.wait_for_load_state()
    assert "测评设置已保存" in desk.content()
    assert MeasureSettings.objects.get().threshold == 65
    shot(desk, "measure-settings-desk")

    desk.goto(f"{base}/staff/measure/computations/")
    desk.get_by_label("时期").fill("2025")
    desk.get_by_role("button", name="计算“九堡街道”").click()
    desk.wait_for_load_state()
    assert "已提交 2025 的指标计算" in desk.content()
    # The background thread finishes it; the table polls every 3 s until it shows it done.
    row = f'#computations tr[data-period="2025"][data-scope="{tree.street_a.code}"]'
    desk.locator(f'{row}[data-status="done"]').wait_for(timeout=20_000)
    assert "已完成" in desk.locator(row).inner_text()
    done = Computation.objects.get(period="2025", scope_code=tree.street_a.code)
    assert done.status == "done" and done.config["threshold"] == 65
    desk.wait_for_timeout(300)
    shot(desk, "measure-computations-desk")

    _login(phone, base, "13900000104")
    phone.goto(f"{base}/staff/measure/computations/")
    assert phone.get_by_role("button", name="计算“九堡社区”").count() == 0
    shot(phone, "measure-computations-phone")
    phone.goto(f"{base}/staff/measure/settings/")
    assert phone.get_by_role("button", name="保存为新版本").count() == 0
    assert "沿用上级“九堡街道”的设置" in phone.content()
    shot(phone, "measure-settings-phone")
