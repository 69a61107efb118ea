"""Journey (析 measure): street staff open 机制检验, choose the periods, run the test, and read the result — the
caution, the path diagram and the table per mediator — at the desk and on a phone."""

from __future__ import annotations

import pytest

from gongzhi.analytics.models import MechanismResult
from gongzhi.people.models import Role
from tests import factories
from tests.analytics_mechanism.conftest import community_codes, plant

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"


def _login(page, base, phone):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_staff_run_the_mechanism_test_and_read_it(live_server, desk, phone, tree):
    tree.street_a.name = "九堡街道"
    tree.street_a.save()
    communities = community_codes(tree.street_a, 12)
    for i, place in enumerate(communities):
        place.name = f"九堡{i + 1}社区"
        place.save()
    plant(communities, ("2023", "2024", "2025"), seed=2)
    staff = factories.staff(Role.STREET_STAFF, tree.street_a)
    worker = factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)

    base = live_server.url
    for page in (desk, phone):  # a busy test machine: the first requests import the statistics libraries
        page.set_default_timeout(60_000)
    _login(desk, base, staff.phone)
    desk.goto(f"{base}/measure/mechanism/")
    assert desk.locator("#mechanism-caution").is_visible()
    assert desk.locator("#mechanism-empty").is_visible()
    # Years are preselected; keep 2024 and 2025 only.
    desk.get_by_label("2023").uncheck()
    desk.get_by_label("自助抽样次数").fill("2000")
    desk.get_by_role("button", name="运行").click()
    desk.wait_for_load_state()
    assert "机制检验已完成" in desk.content()
    assert desk.locator("#mediator-COMPOSITE svg").is_visible()
    assert desk.locator("#mediator-COMPOSITE table").get_by_text("间接效应 a·b").is_visible()
    assert MechanismResult.objects.count() == 1
    assert MechanismResult.objects.get().config["periods"] == ["2024", "2025"]
    shot(desk, "mechanism_desk")

    # Bad input: one period only — the form says why, nothing is stored.
    desk.get_by_label("2025").uncheck()
    desk.get_by_role("button", name="运行").click()
    desk.wait_for_load_state()
    assert "请至少选择 2 个时期" in desk.content()
    assert MechanismResult.objects.count() == 1
    shot(desk, "mechanism_error")

    # A community worker reads (their own community has no result) and cannot run.
    _login(phone, base, worker.phone)
    phone.goto(f"{base}/measure/mechanism/")
    assert phone.locator("#mechanism-caution").is_visible()
    assert phone.locator("#mechanism-run").count() == 0
    # The street's result on a phone.
    phone.context.clear_cookies()
    _login(phone, base, staff.phone)
    phone.goto(f"{base}/measure/mechanism/")
    assert phone.locator("#mediator-DIM_I").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shot(phone, "mechanism_phone")
