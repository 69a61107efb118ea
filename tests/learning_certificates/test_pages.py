"""Pages: the public verification page (no login) and what anyone can fetch, the resident's phone pages, staff pages."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gongzhi.learning.credentials import certificates, keys, signing
from gongzhi.learning.models import Certificate, CertificateStatus

from .conftest import years_ago

pytestmark = pytest.mark.django_db


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _status_text(html: str) -> str:
    start = html.index('id="cert-status"')
    return html[start : html.index("</section>", start)]


# --- public -------------------------------------------------------------------------------------------------------


def test_the_verification_page_says_valid_without_login_and_shows_no_personal_data(eligible):
    cert = eligible.claim()
    response = Client().get(reverse("certificate_verify", kwargs={"code": cert.code}))
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex"
    html = response.content.decode()
    status = _status_text(html)
    assert "有效" in status and "证书有效" in status and "撤销" not in status
    for shown in (
        "陈*华",
        "星级家长执照",
        "一星家长",
        "九堡街道",
        cert.issued_on.isoformat(),
        cert.expires_on.isoformat(),
    ):
        assert shown in html, shown
    assert certificates.code_display(cert.code) in html
    full_name, phone = eligible.names["holder"]
    for secret in (full_name, phone, str(eligible.holder.pk), eligible.holder.ref or "@@"):
        assert secret not in html
    assert 'id="cert-signed"' in html  # the stored credential's signature was checked
    # Typed by hand: lower case with dashes is the same certificate.
    typed = Client().get(reverse("certificate_verify", kwargs={"code": certificates.code_display(cert.code).lower()}))
    assert typed.status_code == 302 and typed["Location"] == reverse("certificate_verify", kwargs={"code": cert.code})


def test_the_verification_page_says_revoked_and_expired(cw):
    staff = cw.users["street_staff"]
    cert = certificates.certificate_issue(actor=staff, resident=cw.holder, level=cw.level1)
    certificates.certificate_revoke(actor=staff, certificate=cert, reason="材料不实")
    html = Client().get(reverse("certificate_verify", kwargs={"code": cert.code})).content.decode()
    assert "已撤销" in _status_text(html) and "证书已被撤销" in _status_text(html)
    assert "材料不实" not in html  # the reason is for the holder and staff only

    old = certificates.certificate_issue(actor=staff, resident=cw.neighbour, level=cw.level1, today=years_ago(2))
    html = Client().get(reverse("certificate_verify", kwargs={"code": old.code})).content.decode()
    assert "已过期" in _status_text(html) and "证书已过期" in _status_text(html)
    assert "有效" not in _status_text(html).replace("有效期", "")


def test_unknown_code_is_a_404_page(cw):
    response = Client().get(reverse("certificate_verify", kwargs={"code": "ABCDEFGHJKMNPQRS"}))
    assert response.status_code == 404 and "无此证书" in response.content.decode()


def test_qr_images_point_to_the_verification_page(eligible):
    cert = eligible.claim()
    svg = Client().get(reverse("certificate_qr_svg", kwargs={"code": cert.code}))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    png = Client().get(reverse("certificate_qr_png", kwargs={"code": cert.code}))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert Client().get(reverse("certificate_qr_png", kwargs={"code": "NOPE0000NOPE0000"})).status_code == 404


def test_the_public_form_verifies_a_pasted_credential(eligible):
    cert = eligible.claim()
    url = reverse("certificate_verify_form")
    assert Client().get(url).status_code == 200
    ok = Client().post(url, {"credential": cert.credential_jwt}).content.decode()
    assert "证书有效" in _status_text(ok) and "陈*华" in ok
    as_json = json.dumps(signing.credential_of_jwt(cert.credential_jwt), ensure_ascii=False)
    assert "证书有效" in _status_text(Client().post(url, {"credential": as_json}).content.decode())
    tampered = as_json.replace("一星家长", "五星家长")
    bad = Client().post(url, {"credential": tampered}).content.decode()
    assert "签名无效" in _status_text(bad) and "陈*华" not in bad
    junk = Client().post(url, {"credential": "hello"}).content.decode()
    assert "无法识别" in _status_text(junk)
    by_code = Client().post(url, {"credential": certificates.code_display(cert.code)})
    assert by_code.status_code == 302 and by_code["Location"].endswith(f"/verify/{cert.code}/")


def test_issuer_profile_keys_and_revocation_list_are_public(eligible):
    cert = eligible.claim()
    code = eligible.tree.street_a.code
    key = keys.issuer_key_active(place=eligible.tree.street_a)
    html = Client().get(reverse("certificate_issuer", kwargs={"code": code}))
    assert html.status_code == 200 and "九堡街道" in html.content.decode() and key.kid in html.content.decode()
    profile = Client().get(reverse("certificate_issuer", kwargs={"code": code}), HTTP_ACCEPT="application/json").json()
    assert profile["type"] == ["Profile"] and profile["name"] == "九堡街道"
    assert profile["id"] == f"http://testserver/credentials/issuers/{code}/"
    jwks = Client().get(reverse("certificate_issuer_jwks", kwargs={"code": code})).json()
    assert [k["kid"] for k in jwks["keys"]] == [key.kid] and all("d" not in k for k in jwks["keys"])
    one = Client().get(reverse("certificate_key", kwargs={"kid": key.kid})).json()
    assert (
        one["x"] == key.public_jwk["x"] and one["type"] == "Multikey" and one["publicKeyMultibase"].startswith("z6Mk")
    )
    # The credential's kid and verificationMethod dereference to this key.
    header = signing.jwt_parts(cert.credential_jwt)[0]
    assert header["kid"] == f"https://gz.example/credentials/keys/{key.kid}/"
    revocations = reverse("certificate_revocations", kwargs={"code": code})
    assert Client().get(revocations).json()["revokedCredentials"] == []
    certificates.certificate_revoke(actor=eligible.users["street_staff"], certificate=cert, reason="材料不实")
    listed = Client().get(revocations).json()
    assert listed["revokedCredentials"] == [{"id": f"urn:uuid:{cert.pk}", "revocationReason": "revoked"}]
    assert "材料不实" not in json.dumps(listed, ensure_ascii=False)
    # A place that issues nothing has no issuer profile.
    assert Client().get(reverse("certificate_issuer", kwargs={"code": eligible.tree.street_b.code})).status_code == 404
    assert Client().get(reverse("certificate_key", kwargs={"kid": "nope"})).status_code == 404


# --- residents ------------------------------------------------------------------------------------------------------


def test_claim_page_flow_and_my_certificates(eligible):
    client = _client(eligible.holder.user)
    url = reverse("certificate_claim", kwargs={"level_id": eligible.level1.pk})
    assert client.get(url).status_code == 405
    response = client.post(url)
    cert = Certificate.objects.get(resident=eligible.holder)
    assert response.status_code == 302 and response["Location"] == reverse(
        "my_certificate", kwargs={"certificate_id": cert.pk}
    )
    assert client.post(url).status_code == 302
    assert Certificate.objects.filter(resident=eligible.holder).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page and f"http://testserver/verify/{cert.code}/" in page and "分享验证链接" in page
    for name in ("certificate_pdf", "certificate_credential_json", "certificate_credential_jwt"):
        assert reverse(name, kwargs={"certificate_id": cert.pk}) in page
    listing = client.get(reverse("my_certificates")).content.decode()
    assert "星级家长执照 · 一星家长" in listing and "有效" in listing


def test_claim_refused_when_not_eligible_shows_why(cw):
    client = _client(cw.holder.user)
    response = client.post(reverse("certificate_claim", kwargs={"level_id": cw.level1.pk}), follow=True)
    html = response.content.decode()
    assert "尚未达到“一星家长”的条件" in html
    assert not Certificate.objects.exists()
    other = _client(cw.far.user).post(reverse("certificate_claim", kwargs={"level_id": cw.level1.pk}))
    assert other.status_code == 404


def test_downloads_for_the_holder_only(eligible):
    cert = eligible.claim()
    holder = _client(eligible.holder.user)
    pdf = holder.get(reverse("certificate_pdf", kwargs={"certificate_id": cert.pk}))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    data = holder.get(reverse("certificate_credential_json", kwargs={"certificate_id": cert.pk})).json()
    assert data["type"] == ["VerifiableCredential", "OpenBadgeCredential"] and "proof" in data
    jwt = holder.get(reverse("certificate_credential_jwt", kwargs={"certificate_id": cert.pk}))
    assert jwt.content.decode() == cert.credential_jwt
    for user in (eligible.neighbour.user, eligible.users["community_worker"], eligible.users["other_street_staff"]):
        assert _client(user).get(reverse("certificate_pdf", kwargs={"certificate_id": cert.pk})).status_code == 404
    assert Client().get(reverse("certificate_pdf", kwargs={"certificate_id": cert.pk})).status_code == 302  # to login
    assert (
        _client(eligible.users["street_staff"])
        .get(reverse("certificate_credential_json", kwargs={"certificate_id": cert.pk}))
        .status_code
        == 200
    )


# --- staff ----------------------------------------------------------------------------------------------------------


def _staff_client(cw, key="street_staff"):
    return _client(cw.users[key])  # works on their grant's place, street A


def test_staff_list_is_paginated_masked_and_constant_in_queries(cw):
    from tests import factories

    staff = cw.users["street_staff"]
    for i in range(55):
        resident = factories.resident(cw.tree.comm_a1, name=f"测试居民{i:02d}", phone=f"1370000{i:04d}")
        certificates.certificate_issue(actor=staff, resident=resident, level=cw.level1)
    client = _staff_client(cw)
    url = reverse("certificate_list")
    client.get(url)  # warm up the session and grants
    with CaptureQueriesContext(connection) as first:
        response = client.get(url, {"programme": str(cw.programme.pk)})
    with CaptureQueriesContext(connection) as last:
        client.get(url, {"programme": str(cw.programme.pk), "page": 2})
    # 50 rows or 5: the same queries (session, user, grants, place, programmes with levels, counts, the page, its count).
    assert len(first) == len(last) <= 12, "\n".join(q["sql"][:150] for q in first.captured_queries)
    html = response.content.decode()
    assert response.status_code == 200
    assert "共 55 张证书" in html and html.count('class="badge cert-valid"') == 50 and "第 1 / 2 页" in html
    i = html.find("测试居民")
    assert i < 0, html[i - 300 : i + 100]
    assert "测****0" in html
    second = client.get(url, {"programme": str(cw.programme.pk), "page": 2}).content.decode()
    assert second.count('class="badge cert-valid"') == 5
    one = Certificate.objects.first()
    assert one is not None
    certificates.certificate_revoke(actor=staff, certificate=one, reason="测试")
    revoked = client.get(url, {"programme": str(cw.programme.pk), "state": "revoked"}).content.decode()
    assert "共 1 张证书" in revoked and certificates.code_display(one.code) in revoked
    found = client.get(url, {"q": one.code}).content.decode()
    assert "共 1 张证书" in found


def test_staff_issue_revoke_renew_pages(cw):
    client = _staff_client(cw)
    url = reverse("certificate_issue")
    form = client.get(url).content.decode()
    assert "一星家长" in form and "二星家长" in form
    bad = client.post(url, {"level": "", "resident": "nobody"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "认证级别：请选择认证级别" in html and "居民：找不到该居民" in html
    assert not Certificate.objects.exists()
    far = client.post(url, {"level": str(cw.level1.pk), "resident": cw.names["far"][1]})  # another street's resident
    assert far.status_code == 400 and "找不到该居民" in far.content.decode()
    ok = client.post(url, {"level": str(cw.level1.pk), "resident": cw.names["holder"][1], "note": "线下签到表"})
    cert = Certificate.objects.get()
    assert ok.status_code == 302 and ok["Location"] == reverse("certificate_detail", kwargs={"certificate_id": cert.pk})
    detail = client.get(ok["Location"]).content.decode()
    assert "陈*华" in detail and "陈美华" not in detail and "撤销证书" in detail

    revoke = reverse("certificate_revoke", kwargs={"certificate_id": cert.pk})
    empty = client.post(revoke, {"reason": " "})
    assert empty.status_code == 400 and "撤销原因：请填写撤销原因" in empty.content.decode()
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID

    renewed = client.post(reverse("certificate_renew", kwargs={"certificate_id": cert.pk}))
    new = Certificate.objects.get(renewed_from=cert)
    assert renewed["Location"] == reverse("certificate_detail", kwargs={"certificate_id": new.pk})
    assert (
        client.post(
            reverse("certificate_revoke", kwargs={"certificate_id": new.pk}), {"reason": "材料不实"}
        ).status_code
        == 302
    )
    new.refresh_from_db()
    assert new.status == CertificateStatus.REVOKED
    assert "材料不实" in client.get(reverse("certificate_detail", kwargs={"certificate_id": new.pk})).content.decode()


def test_staff_pages_refuse_others(eligible):
    cert = eligible.claim()
    detail = reverse("certificate_detail", kwargs={"certificate_id": cert.pk})
    assert _client(eligible.holder.user).get(reverse("certificate_list")).status_code == 403
    assert _client(eligible.holder.user).get(detail).status_code == 404
    worker = _client(eligible.users["community_worker"])
    assert worker.get(detail).status_code == 404
    assert worker.get(reverse("certificate_issue")).status_code == 403
    assert (
        worker.post(reverse("certificate_revoke", kwargs={"certificate_id": cert.pk}), {"reason": "x"}).status_code
        == 404
    )
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.VALID


def test_pdf_without_a_cjk_font_says_what_to_install(eligible, tmp_path):
    from django.test import override_settings

    cert = eligible.claim()
    with override_settings(CJK_FONT_PATHS=[str(tmp_path / "none.ttc")]):
        response = _client(eligible.holder.user).get(reverse("certificate_pdf", kwargs={"certificate_id": cert.pk}))
    assert response.status_code == 503
    assert "找不到中文字体" in response.content.decode() and "fonts-noto-cjk" in response.content.decode()


def test_holder_renews_near_expiry_from_the_phone_page(eligible):
    import datetime

    issued = datetime.date.today() - datetime.timedelta(days=350)  # 12-month validity: expires in about two weeks
    old = certificates.certificate_issue(
        actor=eligible.users["street_staff"], resident=eligible.holder, level=eligible.level1, today=issued
    )
    client = _client(eligible.holder.user)
    page = client.get(reverse("my_certificate", kwargs={"certificate_id": old.pk})).content.decode()
    assert "申请换发" in page
    response = client.post(reverse("certificate_renew_mine", kwargs={"certificate_id": old.pk}))
    new = Certificate.objects.get(renewed_from=old)
    assert response["Location"] == reverse("my_certificate", kwargs={"certificate_id": new.pk})
    assert "申请换发" not in client.get(response["Location"]).content.decode()
    old_page = client.get(reverse("my_certificate", kwargs={"certificate_id": old.pk})).content.decode()
    assert "已换发" in old_page
