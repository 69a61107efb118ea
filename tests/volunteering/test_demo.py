"""The volunteering demo: built on the seeded demo through the services, idempotent, with something for every page."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from gongzhi.activities.models import Activity, VolunteerHours
from gongzhi.activities.volunteering import selectors
from gongzhi.interchange.demo_volunteering import TEAM_REF, demo_volunteering_ensure
from gongzhi.organizations.models import Membership, Organization
from gongzhi.people.models import User

pytestmark = pytest.mark.django_db


def test_demo_volunteering_is_built_and_idempotent(tmp_path: Path):
    out = io.StringIO()
    call_command("seed_demo", "--residents", "300", "--dir", str(tmp_path / "demo"), "--no-progress", stdout=out)
    # seed_demo builds the team (its summary line is printed) …
    assert "志愿服务：新增活动 8 场" in out.getvalue() and "冲正 1" in out.getvalue(), out.getvalue()
    team = Organization.objects.get(ref=TEAM_REF)
    assert team.name == "小蜜蜂志愿服务队" and team.kind == "volunteer_team" and team.place_id == "330102011001"
    leader = User.objects.get(phone="13900000012")
    member = User.objects.get(phone="13900000011")
    assert Membership.objects.get(organization=team, resident__user=leader, left_on__isnull=True).role == "leader"
    assert Membership.objects.filter(organization=team, resident__user=member, left_on__isnull=True).exists()
    originals_all = VolunteerHours.objects.filter(organization=team, reversal_of__isnull=True)
    assert originals_all.filter(confirmed_at__isnull=True).exists()
    assert originals_all.filter(confirmed_at__isnull=False).count() > 20

    # Nobody confirmed their own hours; every confirmed original was confirmed by the community worker.
    staff = User.objects.get(phone="13900000004")
    originals = VolunteerHours.objects.filter(organization=team, reversal_of__isnull=True)
    assert not originals.filter(confirmed_by=leader, resident__user=leader).exists()
    assert set(originals.filter(confirmed_at__isnull=False).values_list("confirmed_by", flat=True)) == {staff.pk}
    # The leader has hours to confirm (recorded by staff), the member sees confirmed hours on their phone.
    to_confirm = selectors.hours_to_confirm(user=leader)
    assert to_confirm.exists() and not to_confirm.filter(resident__user=leader).exists()
    record = selectors.service_record(user=member, resident=member.resident)
    assert record.confirmed > Decimal(5) and record.pending > 0
    # One open event for sign-up, after today.
    assert selectors.events_open_for(user=member, resident=member.resident).filter(organization=team).count() == 1

    # … and running it again adds nothing.
    counts = (Activity.objects.count(), VolunteerHours.objects.count(), Membership.objects.count())
    again = demo_volunteering_ensure()
    assert not again.notes, again.notes
    assert (again.events, again.entries, again.members, again.reversals) == (0, 0, 0, 0)
    assert (Activity.objects.count(), VolunteerHours.objects.count(), Membership.objects.count()) == counts
