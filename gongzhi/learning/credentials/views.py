"""Pages of credentials: certificates (颁证) and their verification.

Public, no login: the verification page of a certificate (``/verify/<code>/``) with its QR code, a form to verify a
pasted VC-JWT or Open Badges 3.0 JSON, and each issuing place's profile, JWKS, keys and revocation list (what other
verifiers fetch). Residents (phones): my certificates, one certificate with its QR code, share link and downloads (PDF,
OB3 JSON, VC-JWT), claim and renew. Staff: the certificates of the programmes they manage, issue, revoke, renew.
"""

from __future__ import annotations

import io
import json
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.pages import staff_place
from gongzhi.people import access
from gongzhi.people.selectors import resident_of_user, residents_visible
from gongzhi.places.models import Place

from ..models import Certificate, CertificateStatus, CredentialLevel, ProgrammeStatus
from . import certificate_selectors as reads
from . import keys, signing
from .certificates import (
    certificate_claim,
    certificate_issue,
    certificate_renew,
    certificate_revoke,
    code_display,
    renewable_by_holder,
)
from .verify import STATUS_LABELS, certificate_state, verify_code, verify_jwt, verify_text

PAGE_SIZE = 50


def base_url(request: HttpRequest) -> str:
    """The site's public address (``settings.SITE_URL``, else the address of this request), no trailing slash."""
    return (getattr(settings, "SITE_URL", "") or request.build_absolute_uri("/")).rstrip("/")


def _json(data: Any, *, status: int = 200, filename: str = "") -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8", status=status
    )
    response["Access-Control-Allow-Origin"] = "*"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _certificate_or_404(request: HttpRequest, certificate_id: Any) -> Certificate:
    try:
        return reads.certificate_get(user=request.user, certificate_id=certificate_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _public_certificate(code: str) -> Certificate:
    certificate = reads.certificate_public(code=code)
    if certificate is None:
        raise Http404(_("找不到该证书"))
    return certificate


def _form_errors(exc: DomainError) -> dict[str, list[str]]:
    """A service's errors for a hand-written form: by field, the rest under "general"."""
    errors = {("general" if k == "__all__" else k): v for k, v in exc.fields.items()}
    return errors or {"general": [exc.message]}


def _qr_svg(data: str) -> str:
    return segno.make(data, error="m", micro=False).svg_inline(scale=6, border=2, dark="#111", omitsize=True)


# --- public: verification -----------------------------------------------------------------------------------------


def certificate_verify(request: HttpRequest, code: str) -> HttpResponse:
    """The public verification page: status in big clear text, the masked name, programme, level, dates."""
    result = verify_code(code)
    certificate = result.certificate
    if certificate is not None and certificate.code != code:
        return redirect("certificate_verify", code=certificate.code)
    signature = verify_jwt(certificate.credential_jwt) if certificate and certificate.credential_jwt else None
    response = render(
        request,
        "learning/credentials/certificates/verify.html",
        {
            "result": result,
            "certificate": certificate,
            "code_display": code_display(certificate.code) if certificate else "",
            "signature_ok": signature is not None
            and signature.status not in ("invalid_signature", "unknown_issuer", "malformed"),
            "verify_url": signing.verify_url(certificate.code, base_url(request)) if certificate else "",
        },
        status=200 if certificate else 404,
    )
    response["X-Robots-Tag"] = "noindex"
    return response


def certificate_qr_svg(request: HttpRequest, code: str) -> HttpResponse:
    certificate = _public_certificate(code)
    svg = segno.make(signing.verify_url(certificate.code, base_url(request)), error="m", micro=False)
    buffer = io.BytesIO()
    svg.save(buffer, kind="svg", scale=8, border=2, dark="#111", xmldecl=True)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


def certificate_qr_png(request: HttpRequest, code: str) -> HttpResponse:
    certificate = _public_certificate(code)
    qr = segno.make(signing.verify_url(certificate.code, base_url(request)), error="m", micro=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=10, border=2)
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="qr-{certificate.code}.png"'
    return response


def certificate_verify_form(request: HttpRequest) -> HttpResponse:
    """Public: anyone pastes a VC-JWT or an OB3 JSON (or types a certificate code) and sees the result."""
    text = ""
    result = None
    if request.method == "POST":
        text = request.POST.get("credential", "")
        stripped = text.strip()
        if stripped and "." not in stripped and not stripped.startswith("{"):
            found = reads.certificate_public(code=stripped)
            if found is not None:
                return redirect("certificate_verify", code=found.code)
        result = verify_text(text)
    return render(
        request,
        "learning/credentials/certificates/verify_form.html",
        {
            "text": text,
            "result": result,
            "result_code": code_display(result.certificate.code) if result and result.certificate else "",
            "max_length": 64 * 1024,
        },
    )


# --- public: the issuer (profile, keys, revocation list) ----------------------------------------------------------


def _issuer_place(code: str) -> Place:
    place = Place.objects.filter(code=code).first()
    if place is None or not (place.credential_programmes.exists() or place.issuer_keys.exists()):
        raise Http404(_("找不到该颁证单位"))
    return place


def _wants_json(request: HttpRequest) -> bool:
    if request.GET.get("format") == "json":
        return True
    accept = request.headers.get("Accept", "")
    return ("application/json" in accept or "application/ld+json" in accept) and "text/html" not in accept


def issuer_profile(place: Place, base: str) -> dict[str, Any]:
    return {
        "@context": list(signing.CONTEXT),
        "id": signing.issuer_url(place, base),
        "type": ["Profile"],
        "name": place.name,
        "description": _("共治平台上的颁证单位（行政区划 %(code)s）") % {"code": place.code},
        "otherIdentifier": [{"type": "IdentifierEntry", "identifier": place.code, "identifierType": "identifier"}],
    }


def certificate_issuer(request: HttpRequest, code: str) -> HttpResponse:
    place = _issuer_place(code)
    base = base_url(request)
    if _wants_json(request):
        response = _json(issuer_profile(place, base))
    else:
        programmes = place.credential_programmes.filter(status=ProgrammeStatus.ACTIVE).prefetch_related("levels")
        response = render(
            request,
            "learning/credentials/certificates/issuer.html",
            {
                "place": place,
                "programmes": programmes,
                "keys": keys.issuer_keys(place=place),
                "profile_json": json.dumps(issuer_profile(place, base), ensure_ascii=False, indent=2),
            },
        )
    response["Vary"] = "Accept"
    return response


def certificate_issuer_jwks(request: HttpRequest, code: str) -> HttpResponse:
    place = _issuer_place(code)
    return _json({"keys": [dict(k.public_jwk) for k in keys.issuer_keys(place=place)]})


def certificate_key(request: HttpRequest, kid: str) -> HttpResponse:
    """One public key, as a JWK (what a VC-JWT's ``kid`` dereferences to) that is also a Multikey document (what a
    Data Integrity proof's ``verificationMethod`` dereferences to)."""
    key = keys.issuer_key_by_kid(kid)
    if key is None or key.kid != kid:
        raise Http404(_("找不到该密钥"))
    base = base_url(request)
    data = {
        **dict(key.public_jwk),
        "@context": ["https://w3id.org/security/multikey/v1"],
        "id": signing.key_url(key.kid, base),
        "type": "Multikey",
        "controller": signing.issuer_url(key.place_id, base),
        "publicKeyMultibase": keys.public_multibase(key),
    }
    if key.retired_at:
        data["revoked"] = key.retired_at.isoformat()  # retired for signing; still verifies what it signed
    return _json(data)


def certificate_revocations(request: HttpRequest, code: str) -> HttpResponse:
    """The 1EdTech revocation list of an issuer: ids of its revoked (and superseded) credentials, no personal data."""
    place = _issuer_place(code)
    base = base_url(request)
    reasons: dict[str, str] = {
        CertificateStatus.REVOKED.value: "revoked",
        CertificateStatus.SUPERSEDED.value: "superseded",
    }
    return _json(
        {
            "id": signing.revocation_list_url(place, base),
            "issuer": signing.issuer_url(place, base),
            "revokedCredentials": [
                {"id": f"urn:uuid:{pk}", "revocationReason": reasons.get(str(status), str(status))}
                for pk, status in reads.revocation_list(place=place)
            ],
        }
    )


# --- residents ------------------------------------------------------------------------------------------------------


def _resident(request: HttpRequest) -> Any:
    resident = resident_of_user(user=request.user)
    if resident is None:
        raise Http404
    return resident


@login_required
def my_certificates(request: HttpRequest) -> HttpResponse:
    _resident(request)
    today = timezone.localdate()
    rows = []
    for c in reads.my_certificates(user=request.user):
        state = certificate_state(c, today=today)
        rows.append((c, state, STATUS_LABELS[state]))
    return render(
        request,
        "learning/credentials/certificates/my_certificates.html",
        {"rows": rows, "progress_url": _progress_url()},
    )


def _progress_url() -> str:
    """The programmes' progress page, when it exists (no dead links)."""
    from django.urls import NoReverseMatch

    for name in ("my_programmes",):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


@login_required
def my_certificate(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _certificate_or_404(request, certificate_id)
    if certificate.resident.user_id != request.user.pk:
        return redirect("certificate_detail", certificate_id=certificate.pk)
    state = certificate_state(certificate)
    url = signing.verify_url(certificate.code, base_url(request))
    return render(
        request,
        "learning/credentials/certificates/my_certificate.html",
        {
            "c": certificate,
            "state": state,
            "state_label": STATUS_LABELS[state],
            "verify_url": url,
            "qr_svg": _qr_svg(url),
            "code_display": code_display(certificate.code),
            "can_renew": renewable_by_holder(certificate) and certificate.programme.status == ProgrammeStatus.ACTIVE,
        },
    )


def _next_or(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@login_required
@require_POST
def claim(request: HttpRequest, level_id: Any) -> HttpResponse:
    resident = _resident(request)
    level = CredentialLevel.objects.select_related("programme__place").filter(pk=level_id).first()
    if level is None or not request.user.has_perm("learning.view_credentialprogramme", level.programme):
        raise Http404
    try:
        certificate = certificate_claim(resident=resident, level=level, actor=request.user, base_url=base_url(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_next_or(request, reverse("my_certificates")))
    messages.success(request, _("已领取证书：%(name)s") % {"name": f"{level.programme.name} · {level.name}"})
    return redirect("my_certificate", certificate_id=certificate.pk)


@login_required
@require_POST
def renew_mine(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _certificate_or_404(request, certificate_id)
    try:
        renewed = certificate_renew(actor=request.user, certificate=certificate, base_url=base_url(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("my_certificate", certificate_id=certificate.pk)
    messages.success(request, _("已换发新证书"))
    return redirect("my_certificate", certificate_id=renewed.pk)


# --- downloads (the holder, or staff covering the programme) --------------------------------------------------------


@login_required
def download_pdf(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    from . import pdf as certificate_pdf  # fpdf2 loads on the first download, not with the URLconf

    certificate = _certificate_or_404(request, certificate_id)
    try:
        content = certificate_pdf.render(
            certificate, verify_url=signing.verify_url(certificate.code, base_url(request))
        )
    except certificate_pdf.CJKFontMissing as exc:
        return render(
            request, "learning/credentials/certificates/pdf_unavailable.html", {"message": exc.message}, status=503
        )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{certificate_pdf.filename(certificate)}"'
    return response


@login_required
def download_json(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _certificate_or_404(request, certificate_id)
    if not certificate.credential_jwt:
        raise Http404
    return _json(signing.credential_of_jwt(certificate.credential_jwt), filename=f"credential-{certificate.code}.json")


@login_required
def download_jwt(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _certificate_or_404(request, certificate_id)
    if not certificate.credential_jwt:
        raise Http404
    response = HttpResponse(certificate.credential_jwt, content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="credential-{certificate.code}.jwt"'
    return response


# --- staff ----------------------------------------------------------------------------------------------------------


def _staff(request: HttpRequest) -> Place:
    place: Place = staff_place(request)
    if not access.is_staff(request.user):
        raise PermissionDenied
    return place


@login_required
def certificate_list(request: HttpRequest) -> HttpResponse:
    place = _staff(request)
    programmes = list(reads.programmes_for_staff(user=request.user, place=place))
    chosen = next((p for p in programmes if str(p.pk) == request.GET.get("programme", "")), None)
    levels = list(chosen.levels.all()) if chosen else []
    level_id = request.GET.get("level", "")
    if level_id and not any(str(lv.pk) == level_id for lv in levels):
        level_id = ""
    state = request.GET.get("state", "")
    if state not in reads.STATES:
        state = ""
    q = request.GET.get("q", "").strip()[:50]
    qs = reads.certificates_for_staff(
        user=request.user, place=place, programme=chosen, level_id=level_id or None, state=state, search=q
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = []
    for c in page:
        row_state = certificate_state(c, today=today)
        rows.append((c, row_state, STATUS_LABELS[row_state], code_display(c.code)))
    can_issue = any(
        p.status == ProgrammeStatus.ACTIVE and request.user.has_perm("learning.issue_certificate", p)
        for p in programmes
    )
    return render(
        request,
        "learning/credentials/certificates/staff_list.html",
        {
            "place": place,
            "programmes": programmes,
            "chosen": chosen,
            "levels": levels,
            "level_id": level_id,
            "state": state,
            "q": q,
            "page": page,
            "rows": rows,
            "labels": STATUS_LABELS,
            "states": [(s, STATUS_LABELS[s]) for s in reads.STATES],
            "counts": reads.programme_counts(programme=chosen) if chosen else None,
            "can_issue": can_issue,
        },
    )


@login_required
def issue(request: HttpRequest) -> HttpResponse:
    place = _staff(request)
    programmes = [
        p
        for p in reads.programmes_for_staff(user=request.user, place=place)
        if p.status == ProgrammeStatus.ACTIVE and request.user.has_perm("learning.issue_certificate", p)
    ]
    if not programmes:
        raise PermissionDenied
    levels = [(p, lv) for p in programmes for lv in p.levels.all()]
    errors: dict[str, list[str]] = {}
    form = {"level": request.GET.get("level", ""), "resident": "", "note": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in ("level", "resident", "note")}
        level = next((lv for _p, lv in levels if str(lv.pk) == form["level"]), None)
        if level is None:
            errors["level"] = [_("请选择认证级别")]
        matches = (
            list(residents_visible(user=request.user, place=place, search=form["resident"])[:2])
            if form["resident"]
            else []
        )
        if not form["resident"]:
            errors["resident"] = [_("请输入居民编号、手机号或身份证号")]
        elif not matches:
            errors["resident"] = [_("找不到该居民")]
        elif len(matches) > 1:
            errors["resident"] = [_("匹配到多位居民，请输入居民编号、手机号或身份证号")]
        if not errors and level is not None:
            try:
                certificate = certificate_issue(
                    actor=request.user,
                    resident=matches[0],
                    level=level,
                    note=form["note"],
                    base_url=base_url(request),
                )
            except DomainError as exc:
                errors = _form_errors(exc)
            else:
                messages.success(
                    request,
                    _("已向 %(name)s 颁发证书 %(code)s")
                    % {"name": certificate.holder_name_masked, "code": code_display(certificate.code)},
                )
                return redirect("certificate_detail", certificate_id=certificate.pk)
    return render(
        request,
        "learning/credentials/certificates/issue.html",
        {"place": place, "levels": levels, "form": form, "errors": errors},
        status=400 if errors else 200,
    )


def _staff_certificate(request: HttpRequest, certificate_id: Any) -> Certificate:
    certificate = _certificate_or_404(request, certificate_id)
    if not request.user.has_perm("learning.manage_certificate", certificate):
        raise Http404
    return certificate


def _staff_detail_page(
    request: HttpRequest,
    certificate: Certificate,
    *,
    successor: Certificate | None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The staff page of one certificate (also re-shown, with the errors, when a revocation fails)."""
    state = certificate_state(certificate)
    return render(
        request,
        "learning/credentials/certificates/staff_detail.html",
        {
            "c": certificate,
            "state": state,
            "state_label": STATUS_LABELS[state],
            "code_display": code_display(certificate.code),
            "successor": successor,
            "reason": request.POST.get("reason", ""),
            "errors": errors or {},
        },
        status=status,
    )


@login_required
def certificate_detail(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _staff_certificate(request, certificate_id)
    successor = (
        Certificate.objects.filter(renewed_from=certificate).only("id", "code").first()
        if certificate.status == CertificateStatus.SUPERSEDED
        else None
    )
    return _staff_detail_page(request, certificate, successor=successor)


@login_required
@require_POST
def revoke(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _staff_certificate(request, certificate_id)
    try:
        certificate_revoke(actor=request.user, certificate=certificate, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        return _staff_detail_page(request, certificate, successor=None, errors=_form_errors(exc), status=400)
    messages.success(request, _("已撤销证书 %(code)s") % {"code": code_display(certificate.code)})
    return redirect("certificate_detail", certificate_id=certificate.pk)


@login_required
@require_POST
def renew(request: HttpRequest, certificate_id: Any) -> HttpResponse:
    certificate = _staff_certificate(request, certificate_id)
    try:
        renewed = certificate_renew(actor=request.user, certificate=certificate, base_url=base_url(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("certificate_detail", certificate_id=certificate.pk)
    messages.success(request, _("已换发新证书 %(code)s") % {"code": code_display(renewed.code)})
    return redirect("certificate_detail", certificate_id=renewed.pk)


urlpatterns: list[URLPattern] = [
    # public, no login
    path("verify/", certificate_verify_form, name="certificate_verify_form"),
    path("verify/<str:code>/", certificate_verify, name="certificate_verify"),
    path("verify/<str:code>/qr.svg", certificate_qr_svg, name="certificate_qr_svg"),
    path("verify/<str:code>/qr.png", certificate_qr_png, name="certificate_qr_png"),
    path("credentials/issuers/<str:code>/", certificate_issuer, name="certificate_issuer"),
    path("credentials/issuers/<str:code>/jwks.json", certificate_issuer_jwks, name="certificate_issuer_jwks"),
    path("credentials/issuers/<str:code>/revocations.json", certificate_revocations, name="certificate_revocations"),
    path("credentials/keys/<str:kid>/", certificate_key, name="certificate_key"),
    # residents
    path("me/certificates/", my_certificates, name="my_certificates"),
    path("me/certificates/<uuid:certificate_id>/", my_certificate, name="my_certificate"),
    path("me/certificates/<uuid:certificate_id>/renew/", renew_mine, name="certificate_renew_mine"),
    path("learn/credentials/levels/<uuid:level_id>/claim/", claim, name="certificate_claim"),
    # downloads: the holder or staff
    path("certificates/<uuid:certificate_id>/certificate.pdf", download_pdf, name="certificate_pdf"),
    path("certificates/<uuid:certificate_id>/credential.json", download_json, name="certificate_credential_json"),
    path("certificates/<uuid:certificate_id>/credential.jwt", download_jwt, name="certificate_credential_jwt"),
    # staff
    path("staff/certificates/", certificate_list, name="certificate_list"),
    path("staff/certificates/issue/", issue, name="certificate_issue"),
    path("staff/certificates/<uuid:certificate_id>/", certificate_detail, name="certificate_detail"),
    path("staff/certificates/<uuid:certificate_id>/revoke/", revoke, name="certificate_revoke"),
    path("staff/certificates/<uuid:certificate_id>/renew/", renew, name="certificate_renew"),
]

# Credential programmes (helper "programmes"): staff programme and level pages, residents' progress.
from .programme_views import urlpatterns as _programme_urls  # noqa: E402

urlpatterns += _programme_urls
