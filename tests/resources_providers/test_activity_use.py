"""Activities name the learning space and the resources they used: the space is booked in the same transaction (a
clash creates nothing and says why), the resources are kept (METHOD.md resource_refs) — through the services, the
activity form and the activities API."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gongzhi.activities import services as activity_services
from gongzhi.activities.models import Activity
from gongzhi.core.errors import Conflict, DomainError
from gongzhi.core.models import AuditEvent
from gongzhi.resources.models import Booking
from gongzhi.resources.services import spaces as space_services
from tests.api.conftest import API, error_of

pytestmark = pytest.mark.django_db


def _tomorrow(hour: int, minute: int = 0) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def room(pw):
    return space_services.space_create(
        actor=None,
        place=pw.tree.comm_a1,
        name="九堡社区学习室",
        capacity=40,
        opens_at=datetime.time(8),
        closes_at=datetime.time(21),
    )


def _create(pw, *, space=None, resources=(), starts=None, ends=None, title="金融知识讲座", actor=None):
    return activity_services.activity_create(
        actor=actor or pw.users["community_worker"],
        place=pw.tree.comm_a1,
        kind="course_session",
        title=title,
        starts_at=starts or _tomorrow(9),
        ends_at=ends if ends is not None else _tomorrow(11),
        space=space,
        resources=list(resources),
    )


# --- services ---------------------------------------------------------------------------------------------------


def test_create_with_space_and_resources(pw, room):
    activity = _create(pw, space=room, resources=[pw.lectures, pw.lectures])
    assert activity.space == room and activity.venue == "九堡社区学习室"
    booking = Booking.objects.get(pk=activity.booking_id)
    assert booking.space == room and booking.status == "active" and booking.title == "金融知识讲座"
    assert (booking.starts_at, booking.ends_at) == (_tomorrow(9), _tomorrow(11))
    assert list(activity.resources.all()) == [pw.lectures]
    event = AuditEvent.objects.get(target_type="activity", target_id=str(activity.pk))
    assert event.changes == {"space": str(room.pk), "resources": [pw.lectures.ref]}


def test_a_clash_creates_nothing(pw, room):
    _create(pw, space=room)
    activities, bookings = Activity.objects.count(), Booking.objects.count()
    with pytest.raises(Conflict) as exc:
        _create(pw, space=room, title="插花课", starts=_tomorrow(10), ends=_tomorrow(12), resources=[pw.lectures])
    assert exc.value.code == "booking_overlap" and "starts_at" in exc.value.fields
    assert "金融知识讲座" in exc.value.message
    assert Activity.objects.count() == activities and Booking.objects.count() == bookings
    assert not Activity.objects.filter(title="插花课").exists()


def test_double_submit_with_a_space_returns_the_first(pw, room):
    first = _create(pw, space=room)
    again = _create(pw, space=room)
    assert again.pk == first.pk
    assert Activity.objects.filter(title="金融知识讲座").count() == 1 and Booking.objects.count() == 1


def test_a_space_needs_an_end_time(pw, room):
    with pytest.raises(DomainError) as exc:
        activity_services.activity_create(
            actor=None, place=pw.tree.comm_a1, kind="course_session", title="讲座", starts_at=_tomorrow(9), space=room
        )
    assert "ends_at" in exc.value.fields
    assert not Activity.objects.filter(title="讲座").exists()


def test_a_past_activity_names_its_space_without_booking(pw, room):
    past = timezone.now() - datetime.timedelta(days=10)
    activity = _create(pw, space=room, starts=past, ends=past + datetime.timedelta(hours=1))
    assert activity.space == room and activity.booking is None and Booking.objects.count() == 0


def test_update_moves_the_booking_with_the_time(pw, room):
    activity = _create(pw, space=room)
    old = activity.booking_id
    activity_services.activity_update(actor=None, activity=activity, starts_at=_tomorrow(14), ends_at=_tomorrow(16))
    activity.refresh_from_db()
    assert Booking.objects.get(pk=old).status == "cancelled"
    booking = Booking.objects.get(pk=activity.booking_id)
    assert booking.status == "active" and booking.starts_at == _tomorrow(14)


def test_update_that_clashes_changes_nothing(pw, room):
    first = _create(pw, space=room)
    second = _create(pw, title="插花课", starts=_tomorrow(14), ends=_tomorrow(16))
    with pytest.raises(Conflict):
        activity_services.activity_update(actor=None, activity=second, space=room, starts_at=_tomorrow(10))
    second.refresh_from_db()
    assert second.space is None and second.booking is None and second.starts_at == _tomorrow(14)
    assert Booking.objects.filter(status="active").count() == 1 and first.booking is not None


def test_update_releases_the_space_and_replaces_resources(pw, room):
    activity = _create(pw, space=room, resources=[pw.lectures])
    booking = activity.booking_id
    activity_services.activity_update(actor=None, activity=activity, space=None, resources=[pw.health_talks])
    activity.refresh_from_db()
    assert activity.space is None and activity.booking is None
    assert Booking.objects.get(pk=booking).status == "cancelled"
    assert list(activity.resources.all()) == [pw.health_talks]
    event = AuditEvent.objects.filter(target_type="activity", action="update").latest("id")
    assert event.changes["resources"] == [[pw.lectures.ref], [pw.health_talks.ref]]


# --- the activity form ------------------------------------------------------------------------------------------


def _form(pw, **extra):
    return {
        "place": pw.tree.comm_a1.code,
        "kind": "course_session",
        "title": "金融知识讲座",
        "starts_at": _tomorrow(9).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": _tomorrow(11).strftime("%Y-%m-%dT%H:%M"),
        "mode": "local",
        **extra,
    }


def test_form_books_the_space_and_names_the_resources(client, pw, room):
    client.force_login(pw.users["community_worker"])
    page = client.get(reverse("activity_new")).content.decode()
    assert "九堡社区学习室" in page and "农商银行九堡支行 · 金融知识讲座" in page
    response = client.post(reverse("activity_new"), _form(pw, space=str(room.pk), resources=[str(pw.lectures.pk)]))
    activity = Activity.objects.get(title="金融知识讲座")
    assert response.status_code == 302
    assert activity.booking is not None and list(activity.resources.all()) == [pw.lectures]
    detail = client.get(reverse("activity_detail", args=[activity.pk])).content.decode()
    assert 'id="activity-space"' in detail and "已预约" in detail and "金融知识讲座" in detail
    assert 'id="activity-resources"' in detail and "农商银行九堡支行" in detail


def test_form_shows_the_clash_and_creates_nothing(client, pw, room):
    _create(pw, space=room, title="书法课")
    client.force_login(pw.users["community_worker"])
    before = Activity.objects.count()
    response = client.post(
        reverse("activity_new"), _form(pw, space=str(room.pk), starts_at=_tomorrow(10).strftime("%Y-%m-%dT%H:%M"))
    )
    body = response.content.decode()
    assert response.status_code == 200 and "开始时间：该时段已被预约：「书法课」" in body
    assert Activity.objects.count() == before


def test_form_offers_only_what_the_user_may_use(client, pw, room):
    """The other street's staff see neither COMM_A1's room nor the bank's lectures."""
    client.force_login(pw.users["other_street_staff"])
    page = client.get(reverse("activity_new")).content.decode()
    assert "九堡社区学习室" not in page and "金融知识讲座" not in page and "大学生健康讲座" in page
    response = client.post(
        reverse("activity_new"),
        _form(pw, place=pw.tree.comm_b1.code, space=str(room.pk), resources=[str(pw.lectures.pk)]),
    )
    assert response.status_code == 200 and not Activity.objects.exists()


# --- the activities API -----------------------------------------------------------------------------------------


def _api_payload(pw, **extra):
    return {
        "place_code": pw.tree.comm_a1.code,
        "kind": "course_session",
        "title": "金融知识讲座",
        "starts_at": _tomorrow(9).isoformat(),
        "ends_at": _tomorrow(11).isoformat(),
        **extra,
    }


def test_api_create_with_space_and_resources(make_client, pw, room):
    client = make_client(pw.users["community_worker"])
    made = client.post_json(
        f"{API}/activities", _api_payload(pw, space_id=str(room.pk), resource_ids=[str(pw.lectures.pk)])
    )
    assert made.status_code == 201
    body = made.json()
    assert body["space_id"] == str(room.pk) and body["space_name"] == "九堡社区学习室" and body["booking_id"]
    assert [r["ref"] for r in body["resources"]] == [pw.lectures.ref]
    assert body["resources"][0]["provider_name"] == "农商银行九堡支行"
    clash = client.post_json(f"{API}/activities", _api_payload(pw, title="插花课", space_id=str(room.pk)))
    assert clash.status_code == 409 and error_of(clash)["code"] == "booking_overlap"
    assert not Activity.objects.filter(title="插花课").exists()


def test_api_refuses_spaces_and_resources_the_user_may_not_use(make_client, pw, room):
    client = make_client(pw.users["other_street_staff"])
    payload = _api_payload(pw, place_code=pw.tree.comm_b1.code)
    bad_space = client.post_json(f"{API}/activities", {**payload, "space_id": str(room.pk)})
    assert bad_space.status_code == 400 and "space_id" in error_of(bad_space)["fields"]
    bad_resource = client.post_json(f"{API}/activities", {**payload, "resource_ids": [str(pw.lectures.pk)]})
    assert bad_resource.status_code == 400 and "resource_ids" in error_of(bad_resource)["fields"]
    assert not Activity.objects.exists()


def test_api_patch_space_and_resources(make_client, pw, room):
    client = make_client(pw.users["community_worker"])
    activity = _create(pw)
    patched = client.patch_json(
        f"{API}/activities/{activity.pk}", {"space_id": str(room.pk), "resource_ids": [str(pw.lectures.pk)]}
    )
    assert patched.status_code == 200
    assert patched.json()["space_id"] == str(room.pk) and patched.json()["booking_id"]
    released = client.patch_json(f"{API}/activities/{activity.pk}", {"space_id": None, "resource_ids": []})
    assert released.json()["space_id"] is None and released.json()["resources"] == []
    assert Booking.objects.get().status == "cancelled"
    # Staff of a sibling community: not theirs.
    other = make_client(pw.users["sibling_worker"])
    assert other.patch_json(f"{API}/activities/{activity.pk}", {"title": "改名"}).status_code == 404


def test_api_activity_list_query_count_is_constant(make_client, pw):
    client = make_client(pw.users["street_staff"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{API}/activities").status_code == 200
        return len(ctx)

    _create(pw, title="一", resources=[pw.lectures])
    few = count()
    for i in range(6):
        _create(pw, title=f"讲座{i}", resources=[pw.lectures, pw.health_talks])
    items = client.get(f"{API}/activities").json()["items"]
    assert len(items) == 7 and all(item["resources"] for item in items)
    assert count() == few
