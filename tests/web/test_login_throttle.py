"""Password login is throttled: after five failures for one phone within 15 minutes, even the right password is refused
(without being checked) until the window has passed; a success clears the phone's failures; one address that fails
thirty times is stopped as well. SMS-code login stays open."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from gongzhi.people.models import LoginFailure
from tests import factories

pytestmark = pytest.mark.django_db

PHONE = "13800138000"


@pytest.fixture
def account(tree):
    return factories.staff("community_worker", tree.comm_a1, phone=PHONE)


def _login(client, password: str, phone: str = PHONE, ip: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": phone, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_the_phone_for_fifteen_minutes(client, account):
    for _ in range(5):
        response = _login(client, "wrong-password")
        assert response.status_code == 200 and "手机号或密码不正确" in response.content.decode()
    assert LoginFailure.objects.filter(phone=PHONE).count() == 5

    locked = _login(client, "gongzhi-test-pw")  # the right password, refused without being checked
    assert locked.status_code == 200 and "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginFailure.objects.filter(phone=PHONE).count() == 5  # a refused attempt is not a failure

    later = timezone.now() + datetime.timedelta(minutes=16)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert _login(client, "gongzhi-test-pw").status_code == 302
    assert client.session["_auth_user_id"] == str(account.pk)
    assert not LoginFailure.objects.filter(phone=PHONE).exists()  # success clears the phone's failures


def test_a_success_before_the_limit_clears_the_count(client, account):
    for _ in range(4):
        _login(client, "wrong-password")
    assert _login(client, "gongzhi-test-pw").status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "wrong-password")
    assert _login(client, "gongzhi-test-pw").status_code == 302


def test_one_address_guessing_many_phones_is_stopped(client, account):
    for i in range(30):
        _login(client, "guess", phone=f"1390000{i:04d}", ip="10.9.9.9")
    refused = _login(client, "gongzhi-test-pw", ip="10.9.9.9")
    assert refused.status_code == 200 and "此网络登录失败次数过多" in refused.content.decode()
    assert _login(client, "gongzhi-test-pw", ip="10.0.0.2").status_code == 302  # another address is not affected
