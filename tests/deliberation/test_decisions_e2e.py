# ruff: noqa: F811  (browser fixtures imported from tests.e2e.conftest are used as parameters)
"""Browser check of the decision pages: staff at a desk open a ballot and enter paper votes, a resident votes on a
390 px phone and gets a receipt, staff publish the decision and carry it out, the resident rates it."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.deliberation.models import Ballot, Issue
from tests.e2e.conftest import CHROMIUM, desk, phone, shot  # noqa: F401

from .test_decisions_fixtures import meeting_with, world_fixture  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    """This module's own browser, closed when the module is done (the session-wide one of tests/e2e starts later:
    two Playwright instances may not be open at once)."""
    if not CHROMIUM:
        pytest.fail("Chromium is not installed: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield b
        b.close()


def _login(page, base, phone_number, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone_number)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def test_ballot_vote_paper_decision_and_rating(live_server, desk, phone, world):
    base = live_server.url
    meeting_with(world.issue, world.residents, staff=world.worker, at=timezone.now() - datetime.timedelta(minutes=30))
    _login(desk, base, world.worker.phone, "gongzhi-test-pw")
    desk.goto(f"{base}/staff/issues/{world.issue.pk}/ballots/new/")
    desk.get_by_label("最低参与人数").fill("3")
    shot(desk, "decisions-ballot-new-desk")
    desk.locator("#ballot-submit").click()
    desk.wait_for_url("**/staff/ballots/**")
    ballot = Ballot.objects.get()
    desk.goto(f"{base}/staff/ballots/{ballot.pk}/paper/")
    a, b = world.proposals
    desk.locator(f"#id_count_{a.pk}").fill("1")
    desk.locator(f"#id_count_{b.pk}").fill("2")
    shot(desk, "decisions-paper-desk")
    desk.locator("#paper-submit").click()
    desk.wait_for_url(f"**/staff/ballots/{ballot.pk}/")
    assert "3" in desk.locator("#ballot-totals tfoot").inner_text()

    voter = world.residents[1]
    _login(phone, base, voter.phone, "a-long-passphrase-9")
    phone.goto(f"{base}/me/ballots/")
    shot(phone, "decisions-my-ballots-phone")
    phone.get_by_role("link", name="去投票").click()
    phone.locator("label.vote-option").nth(1).click()
    shot(phone, "decisions-vote-phone")
    phone.locator("#vote-submit").click()
    receipt = phone.locator("#receipt").inner_text().strip()
    assert len(receipt) == 32
    shot(phone, "decisions-receipt-phone")
    phone.goto(f"{base}/me/ballots/{ballot.pk}/")
    assert phone.locator("#already-voted").is_visible()

    now = timezone.now()
    Ballot.objects.filter(pk=ballot.pk).update(
        opens_at=now - datetime.timedelta(hours=2), closes_at=now - datetime.timedelta(minutes=1)
    )
    desk.goto(f"{base}/staff/ballots/{ballot.pk}/")
    shot(desk, "decisions-ballot-closed-desk")
    desk.locator("#decision-link").click()
    desk.get_by_label("决定内容").fill("采纳方案乙：加装电梯，费用按楼层分摊。")
    desk.get_by_label("决策主体").fill("居民议事会")
    desk.locator("#decision-submit").click()
    desk.wait_for_url("**/milestones/")
    assert "纸质 2" in desk.locator(".decision-result").inner_text()
    desk.locator("#milestone-open").click()
    desk.locator("#milestone-form #id_title").fill("施工招标")
    desk.get_by_label("责任方").fill("物业公司")
    desk.get_by_label("计划完成日期").fill("2030-01-01")
    desk.locator("#milestone-submit").click()
    desk.locator("#start-implementing").click()
    desk.locator("#progress-open").click()
    desk.get_by_label("进展").fill("招标公告已发布。")
    desk.locator("#progress-submit").click()
    desk.get_by_role("button", name="标记完成").click()
    shot(desk, "decisions-milestones-desk")
    desk.locator("#close-issue").click()
    desk.wait_for_load_state()
    assert Issue.objects.get(pk=world.issue.pk).status == "closed"

    phone.goto(f"{base}/me/issues/{world.issue.pk}/rate/")
    phone.get_by_label("4 满意").check()
    phone.locator("#rate-submit").click()
    assert phone.locator("#rated").is_visible()
    shot(phone, "decisions-rated-phone")
    phone.goto(f"{base}/me/ballots/{ballot.pk}/result/")
    shot(phone, "decisions-result-phone")
