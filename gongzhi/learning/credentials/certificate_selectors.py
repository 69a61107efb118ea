"""Reads of certificates. Each takes the acting user (or is explicitly public and returns no personal data)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.selectors import residents_visible
from gongzhi.places.models import Place

from ..models import Certificate, CertificateStatus, CredentialProgramme
from .verify import normalise_code

STATES = ("valid", "expired", "revoked", "superseded")


def certificate_get(*, user: Any, certificate_id: Any) -> Certificate:
    """A certificate the user may see (the holder, or staff covering its programme); others get "not found"."""
    try:
        certificate = Certificate.objects.select_related("programme__place", "level", "resident", "renewed_from").get(
            pk=certificate_id
        )
    except (Certificate.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("找不到该证书")) from exc
    except Exception as exc:  # an invalid UUID text
        from django.core.exceptions import ValidationError

        if isinstance(exc, ValidationError):
            raise NotFound(_("找不到该证书")) from exc
        raise
    if not user.has_perm("learning.view_certificate", certificate):
        raise NotFound(_("找不到该证书"))
    return certificate


def my_certificates(*, user: Any) -> QuerySet[Certificate]:
    """The user's own certificates, newest first (superseded ones last). One query."""
    if not getattr(user, "is_authenticated", False):
        return Certificate.objects.none()
    return (
        Certificate.objects.filter(resident__user=user)
        .select_related("programme__place", "level", "resident")
        .annotate(
            rank=Case(
                When(status=CertificateStatus.VALID, then=Value(0)),
                When(status=CertificateStatus.REVOKED, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "-issued_on", "-created_at")
    )


def certificate_public(*, code: str) -> Certificate | None:
    """Public: a certificate by its code, for the verification page (no personal data beyond the masked name)."""
    normal = normalise_code(code)
    if not normal:
        return None
    return Certificate.objects.select_related("programme__place", "level").filter(code=normal).first()


def programmes_for_staff(*, user: Any, place: Place) -> QuerySet[CredentialProgramme]:
    """The programmes whose certificates the user manages, in the subtree of the place they work on."""
    return (
        CredentialProgramme.objects.filter(access.prefix_q("place__code", user, access.STAFF_ROLES))
        .filter(place__code__startswith=place.prefix)
        .select_related("place")
        .prefetch_related("levels")
        .order_by("place_id", "name")
    )


def certificates_for_staff(
    *,
    user: Any,
    place: Place | None = None,
    programme: CredentialProgramme | None = None,
    level_id: Any = None,
    state: str = "",
    search: str = "",
    today: datetime.date | None = None,
) -> QuerySet[Certificate]:
    """Certificates of the programmes the user manages (under ``place`` when given), filtered. One query per page (plus
    the count). Holders appear by their masked name only."""
    today = today or timezone.localdate()
    qs = Certificate.objects.filter(access.prefix_q("programme__place__code", user, access.STAFF_ROLES))
    if place is not None:
        qs = qs.filter(programme__place__code__startswith=place.prefix)
    if programme is not None:
        qs = qs.filter(programme=programme)
    if level_id:
        qs = qs.filter(level_id=level_id)
    if state == "valid":
        qs = qs.filter(status=CertificateStatus.VALID).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
    elif state == "expired":
        qs = qs.filter(status=CertificateStatus.VALID, expires_on__lt=today)
    elif state in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED):
        qs = qs.filter(status=state)
    search = (search or "").strip()
    if search:
        q = Q(resident_id__in=residents_visible(user=user, search=search, include_left=True).values("pk"))
        code = normalise_code(search)
        if code:
            q |= Q(code=code)
        qs = qs.filter(q)
    if not access.is_staff(user):
        return qs.none()
    return qs.select_related("programme__place", "level", "issued_by").order_by("-issued_on", "-created_at")


def programme_counts(*, programme: CredentialProgramme, today: datetime.date | None = None) -> dict[str, int]:
    """How many certificates of a programme are valid, expired, revoked and superseded (one query)."""
    today = today or timezone.localdate()
    valid = Q(status=CertificateStatus.VALID)
    expired = valid & Q(expires_on__lt=today)
    row = Certificate.objects.filter(programme=programme).aggregate(
        valid=Count("pk", filter=valid & ~expired),
        expired=Count("pk", filter=expired),
        revoked=Count("pk", filter=Q(status=CertificateStatus.REVOKED)),
        superseded=Count("pk", filter=Q(status=CertificateStatus.SUPERSEDED)),
    )
    return {k: int(v or 0) for k, v in row.items()}


def revocation_list(*, place: Place) -> list[tuple[Any, str]]:
    """Public: (certificate id, status) of the place's revoked and superseded certificates — ids only."""
    return list(
        Certificate.objects.filter(
            programme__place=place, status__in=(CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED)
        )
        .order_by("created_at")
        .values_list("pk", "status")
    )
