"""Journey (学 credentials): on her phone a resident takes an online test and passes, reaches level 1 of the parent
licence (criteria: tests passed ≥ 1), claims the certificate, and the URL under its QR code opens — without login — a
verification page that says valid. Then staff revoke it at the desk and the same page says revoked."""

from __future__ import annotations

import pytest

from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.certificates import code_display
from gongzhi.learning.credentials.views import _qr_svg
from gongzhi.learning.models import Certificate
from gongzhi.learning.testing import services as testing_services
from gongzhi.people import services as people_services
from tests import factories

from .conftest import shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "gongzhi-test-pw"
QUESTIONS = [
    ("true_false", "孩子哭闹时，祖辈家长应先安抚情绪，再讲道理。", ["正确", "错误"], [0]),
    ("single", "婴幼儿每天的睡眠时间，下列哪项最合适？", ["4 小时", "8 小时", "12 小时以上"], [2]),
    ("true_false", "隔代教养中，祖辈和父母的教育方式最好保持一致。", ["正确", "错误"], [0]),
]


def _login(page, base, phone, password=PASSWORD):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def _world(tree):
    tree.street_a.name, tree.comm_a1.name = "九堡街道", "九堡社区"
    for p in (tree.street_a, tree.comm_a1):
        p.save()
    staff = factories.staff("street_staff", tree.street_a, phone="13900000102")
    factories.resident(tree.comm_a1, name="陈美华", phone="13900000111")
    people_services.account_claim(phone="13900000111", password=PASSWORD)

    bank = testing_services.question_bank_create(actor=staff, place=tree.street_a, name="科学育儿题库")
    for kind, text, choices, answer in QUESTIONS:
        testing_services.question_create(actor=staff, bank=bank, kind=kind, text=text, choices=choices, answer=answer)
    test = testing_services.online_test_create(
        actor=staff,
        place=tree.street_a,
        bank=bank,
        settings=testing_services.OnlineTestSettings(title="科学育儿知识测试", pass_mark=60, attempts_allowed=3),
    )
    testing_services.online_test_set_status(actor=staff, test=test, status="open")

    programme = programmes.programme_create(
        actor=staff, place=tree.street_a, name="星级家长执照", description="好婆婆课堂家长学习认证", validity_months=24
    )
    programmes.level_create(
        actor=staff,
        programme=programme,
        rank=1,
        name="一星家长",
        criteria={"all": [{"kind": "tests_passed", "min": 1}]},
        description="通过一次线上测试",
    )
    programmes.level_create(
        actor=staff,
        programme=programme,
        rank=2,
        name="二星家长",
        criteria={"all": [{"kind": "level_held", "rank": 1}, {"kind": "points", "min": 100}]},
    )
    programmes.programme_activate(actor=staff, programme=programme)
    return staff


def test_pass_a_test_claim_the_certificate_and_verify_it(live_server, browser, phone, desk, tree):
    staff = _world(tree)
    base = live_server.url

    # 1. The resident takes the test on her phone and passes.
    _login(phone, base, "13900000111")
    phone.goto(f"{base}/learn/tests/")
    card = phone.locator("li.qt-card", has_text="科学育儿知识测试")
    card.get_by_role("link", name="去测试").click()
    phone.get_by_role("button", name="开始作答").click()
    for _kind, text, choices, answer in QUESTIONS:
        question = phone.locator("fieldset.qt-q", has_text=text)
        question.locator("label.qt-opt", has_text=choices[answer[0]]).click()
    phone.get_by_text(f"已答 {len(QUESTIONS)} / {len(QUESTIONS)} 题").wait_for()
    phone.get_by_role("button", name="交卷").click()
    phone.get_by_text("通过").first.wait_for()
    shot(phone, "credentials-test-passed-phone")

    # 2. Level 1 is reached: claim the certificate on the progress page.
    phone.goto(f"{base}/me/programmes/")
    level1 = phone.locator("article.pg-level[data-level='1']")
    level1.get_by_text("已达到").wait_for()
    shot(phone, "credentials-progress-phone")
    level1.get_by_role("button", name="领取证书").click()
    phone.get_by_text("已领取证书：星级家长执照 · 一星家长").wait_for()
    cert = Certificate.objects.select_related("resident").get()
    assert cert.claimed and cert.resident.phone == "13900000111"
    phone.locator("#cert-status").get_by_text("有效").wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "credentials-my-certificate-phone")

    # 3. The QR code encodes the address printed under it.
    url = phone.locator("#verify-url").inner_text().strip()
    assert url == f"{base}/verify/{cert.code}/"
    assert phone.locator("#cert-qr svg").count() == 1
    drawn = phone.locator("#cert-qr svg path").first.get_attribute("d")
    expected = _qr_svg(url)
    assert drawn and f'd="{drawn}"' in expected  # the same modules as a QR code of that URL

    phone.goto(f"{base}/me/certificates/")
    phone.locator("#my-certificates").get_by_text("星级家长执照 · 一星家长").wait_for()
    shot(phone, "credentials-my-certificates-phone")
    phone.get_by_role("link", name="查看与分享").click()

    # The PDF downloads.
    with phone.expect_download() as download:
        phone.get_by_role("link", name="PDF 证书").click()
    with open(download.value.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"

    # 4. Anyone (no login) opens the QR's URL: valid.
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    anon = ctx.new_page()
    try:
        anon.goto(url)
        status = anon.locator("#cert-status")
        status.get_by_text("有效", exact=True).wait_for()
        status.get_by_text("证书有效").wait_for()
        body = anon.locator("main").inner_text()
        for shown in ("陈*华", "星级家长执照", "一星家长", "九堡街道"):
            assert shown in body
        assert "陈美华" not in anon.content() and "13900000111" not in anon.content()
        anon.locator("#cert-signed").wait_for()
        shot(anon, "credentials-verify-valid-phone")
        # The electronic credential pasted into the public form: valid; one character changed: signature invalid.
        anon.get_by_role("link", name="验证电子证书").click()
        anon.get_by_label("电子证书内容").fill(cert.credential_jwt)
        anon.get_by_role("button", name="验证", exact=True).click()
        anon.locator("#cert-status").get_by_text("证书有效").wait_for()
        shot(anon, "credentials-verify-form-valid-phone")
        head, body, signature = cert.credential_jwt.split(".")
        anon.get_by_label("电子证书内容").fill(
            f"{head}.{body[:40]}{'B' if body[40] == 'A' else 'A'}{body[41:]}.{signature}"
        )
        anon.get_by_role("button", name="验证", exact=True).click()
        anon.locator("#cert-status").get_by_text("签名无效", exact=True).wait_for()

        # 5. Staff revoke it at the desk; the same page now says revoked.
        _login(desk, base, staff.phone)
        desk.goto(f"{base}/staff/certificates/")
        desk.locator("table.certificates").get_by_text("陈*华").wait_for()
        shot(desk, "credentials-staff-list-desk")
        desk.get_by_role("link", name=code_display(cert.code)).click()
        shot(desk, "credentials-staff-detail-desk")
        desk.get_by_label("撤销原因").fill("参加测试者并非本人")
        desk.get_by_role("button", name="撤销证书").click()
        desk.get_by_text("已撤销证书").wait_for()
        shot(desk, "credentials-staff-revoked-desk")
        anon.goto(url)
        anon.locator("#cert-status").get_by_text("已撤销", exact=True).wait_for()
        assert "参加测试者并非本人" not in anon.content()
        shot(anon, "credentials-verify-revoked-phone")

        # 6. Staff issue a new one (e.g. after checking paper records): valid again, under a new code.
        desk.get_by_role("link", name="证书", exact=True).first.click()
        desk.get_by_role("link", name="颁发证书").click()
        desk.get_by_label("认证级别").select_option(label="星级家长执照 · 一星家长")
        desk.get_by_label("居民").fill("13900000111")
        desk.get_by_label("备注").fill("本人补考通过，核对签到表后重新颁发")
        shot(desk, "credentials-staff-issue-desk")
        desk.get_by_role("button", name="颁发").click()
        desk.get_by_text("已向 陈*华 颁发证书").wait_for()
        reissued = Certificate.objects.exclude(pk=cert.pk).get()
        assert reissued.claimed is False and reissued.code != cert.code
        anon.goto(f"{base}/verify/{reissued.code}/")
        anon.locator("#cert-status").get_by_text("有效", exact=True).wait_for()
    finally:
        ctx.close()
