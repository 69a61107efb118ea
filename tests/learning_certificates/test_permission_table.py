"""Permission table: role × relation to the programme's place (street A) × action on a certificate of street A's
programme held by a resident of community A1."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import NotFound, PermissionDenied
from gongzhi.learning.credentials import certificate_selectors, certificates
from gongzhi.learning.models import Certificate, CertificateStatus

pytestmark = pytest.mark.django_db

# who: (issue, revoke, renew, view)
TABLE = {
    "street_staff": (True, True, True, True),  # street staff of the programme's street
    "district_admin": (True, True, True, True),  # admin of the district above
    "community_worker": (False, False, False, False),  # works in a community inside the street: not the street's
    "other_street_staff": (False, False, False, False),  # a sibling street
    "teacher": (False, False, False, False),  # a teacher role on the street is not staff
    "holder": (False, False, None, True),  # the resident holding it (renew: only near expiry, see below)
    "neighbour": (False, False, False, False),  # another resident of the street
}


def _user(cw, who):
    if who == "holder":
        return cw.holder.user
    if who == "neighbour":
        return cw.neighbour.user
    return cw.users[who]


@pytest.mark.parametrize("who", list(TABLE))
def test_certificate_permissions(eligible, who):
    can_issue, can_revoke, can_renew, can_view = TABLE[who]
    user = _user(eligible, who)
    cert = eligible.claim()
    cert = Certificate.objects.select_related("programme__place", "level", "resident").get(pk=cert.pk)

    assert user.has_perm("learning.issue_certificate", eligible.programme) is can_issue
    assert user.has_perm("learning.manage_certificate", cert) is can_revoke
    assert user.has_perm("learning.view_certificate", cert) is can_view

    # view, through the selector every page and endpoint uses
    if can_view:
        assert certificate_selectors.certificate_get(user=user, certificate_id=cert.pk) == cert
    else:
        with pytest.raises(NotFound):
            certificate_selectors.certificate_get(user=user, certificate_id=cert.pk)

    # issue to the neighbour (community A2)
    if can_issue:
        issued = certificates.certificate_issue(actor=user, resident=eligible.neighbour, level=eligible.level1)
        assert issued.claimed is False
    else:
        with pytest.raises(PermissionDenied):
            certificates.certificate_issue(actor=user, resident=eligible.neighbour, level=eligible.level1)
        assert not Certificate.objects.filter(resident=eligible.neighbour).exists()

    # renew (today: far from the expiry date — only staff may)
    if can_renew:
        renewed = certificates.certificate_renew(actor=user, certificate=cert)
        assert renewed.renewed_from_id == cert.pk
        cert = renewed
    elif can_renew is False:
        with pytest.raises(PermissionDenied):
            certificates.certificate_renew(actor=user, certificate=cert)
    else:  # the holder: allowed in principle, refused as too early
        from gongzhi.core.errors import Conflict

        with pytest.raises(Conflict):
            certificates.certificate_renew(actor=user, certificate=cert)

    # revoke
    if can_revoke:
        assert certificates.certificate_revoke(actor=user, certificate=cert, reason="测试").status == "revoked"
    else:
        with pytest.raises(PermissionDenied):
            certificates.certificate_revoke(actor=user, certificate=cert, reason="测试")
        cert.refresh_from_db()
        assert cert.status == CertificateStatus.VALID


def test_staff_list_covers_only_managed_programmes(eligible):
    eligible.claim()
    street_a = eligible.tree.street_a
    for who, expected in (
        ("street_staff", 1),
        ("district_admin", 1),
        ("community_worker", 0),
        ("other_street_staff", 0),
        ("teacher", 0),
        ("holder", 0),
    ):
        user = _user(eligible, who)
        assert certificate_selectors.certificates_for_staff(user=user, place=street_a).count() == expected, who
        assert certificate_selectors.certificates_for_staff(user=user).count() == expected, who
