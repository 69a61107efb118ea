"""Languages: Chinese (the source language) by default, English when chosen — pages, form and service errors, the API's
error messages — and an English catalogue with every message translated and compiled."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from gongzhi.people.models import Resident
from tests import factories
from tests.conftest import ID_A

LOCALE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
API = "/api/v1"


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """LocaleMiddleware activates the request's language in this thread; later tests expect the default again."""
    yield
    translation.deactivate()


def _english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def _resident_data(community_code: str, **changes: str) -> dict[str, str]:
    return {
        "name": "王强",
        "community": community_code,
        "household": "local",
        "registered_on": "2025-01-01",
        "phone": "",
        "gender": "",
        "birth_year": "",
        "id_number": "",
        **changes,
    }


# --- pages --------------------------------------------------------------------------------------------------------


def test_login_page_is_chinese_by_default(client, db):
    page = client.get(reverse("login")).content.decode()
    assert 'lang="zh-hans"' in page
    for text in ["登录共治", "手机号", "密码", "用短信验证码登录", "居民认领账号"]:
        assert text in page, text
    assert "Log in to Gongzhi" not in page and "Mobile number" not in page


def test_login_page_in_english_after_choosing_it(client, db):
    _english(client)
    page = client.get(reverse("login")).content.decode()
    assert 'lang="en"' in page
    for text in ["Log in to Gongzhi", "Mobile number", "Password", "Log in with an SMS code", "claim your account"]:
        assert text in page, text
    for text in ["登录共治", "手机号", "密码", "用短信验证码登录", "居民认领账号", "社区教育赋能基层治理"]:
        assert text not in page, text


def test_login_page_follows_accept_language(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in page and "Log in to Gongzhi" in page and "登录共治" not in page


def test_wrong_password_error_in_english(client, tree):
    factories.staff("community_worker", tree.comm_a1, phone="13811110009")
    _english(client)
    page = client.post(reverse("login"), {"username": "13811110009", "password": "nope"}).content.decode()
    assert "Incorrect mobile number or password." in page and "手机号或密码不正确" not in page


STAFF_HOME_CHINESE = [
    "工作台",
    "居民名册",
    "角色授权",
    "登记居民",
    "下级区划",
    "在册居民",
    "户籍居民",
    "新市民",
    "当前区划",
]


def test_staff_dashboard_is_chinese_by_default(client, tree):
    client.force_login(factories.staff("street_staff", tree.street_a))
    page = client.get(reverse("staff_home")).content.decode()
    for text in STAFF_HOME_CHINESE:
        assert text in page, text
    assert "Dashboard" not in page and "Resident roll" not in page


def test_staff_dashboard_in_english(client, tree):
    client.force_login(factories.staff("street_staff", tree.street_a))
    _english(client)
    page = client.get(reverse("staff_home")).content.decode()
    for text in [
        "Dashboard",
        "Resident roll",
        "Role grants",
        "Register resident",
        "Subdivisions",
        "Registered residents",
        "Local resident (hukou)",
        "New citizen (migrant)",
        "Current division",
        "Street/township",  # a place's level (model choices)
        "Log out",
    ]:
        assert text in page, text
    for text in STAFF_HOME_CHINESE:
        assert text not in page, text


def test_language_choice_sticks_to_the_session(client, tree):
    client.force_login(factories.staff("community_worker", tree.comm_a1))
    _english(client)
    assert "Resident roll" in client.get(reverse("resident_list")).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "居民名册" in client.get(reverse("resident_list")).content.decode()


# --- errors from forms and services ---------------------------------------------------------------------------


def test_register_form_errors_in_english(client, tree):
    client.force_login(factories.staff("community_worker", tree.comm_a1))
    _english(client)
    page = client.post(reverse("resident_new"), _resident_data(tree.comm_a1.code, phone="12345")).content.decode()
    assert "Mobile number: Please enter a valid mainland China mobile number (11 digits, starting with 1)" in page
    assert "请输入有效的中国大陆手机号" not in page
    assert Resident.objects.count() == 0


def test_register_form_errors_in_chinese_by_default(client, tree):
    client.force_login(factories.staff("community_worker", tree.comm_a1))
    page = client.post(reverse("resident_new"), _resident_data(tree.comm_a1.code, phone="12345")).content.decode()
    assert "手机号：请输入有效的中国大陆手机号（11 位，以 1 开头）" in page
    assert "valid mainland China mobile number" not in page


@pytest.mark.parametrize(
    ("english", "message"), [(True, "This ID number is already registered"), (False, "该身份证号码已被登记")]
)
def test_service_conflict_message_follows_the_language(client, tree, english, message):
    factories.resident(tree.comm_a1, name="李秀英", id_number=ID_A)
    client.force_login(factories.staff("community_worker", tree.comm_a1))
    if english:
        _english(client)
    response = client.post(reverse("resident_new"), _resident_data(tree.comm_a1.code, id_number=ID_A))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Resident.objects.count() == 1


# --- the API ------------------------------------------------------------------------------------------------------


def _post_resident(client, body, **headers):
    return client.post(f"{API}/residents", json.dumps(body), content_type="application/json", **headers)


def test_api_service_error_in_english(client, tree):
    client.force_login(factories.staff("community_worker", tree.comm_a1))
    body = {"community": tree.comm_a1.code, "name": "李四", "household": "local", "phone": "12345"}
    error = _post_resident(client, body, HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    expected = "Please enter a valid mainland China mobile number (11 digits, starting with 1)"
    assert error["message"] == expected and error["fields"] == {"phone": [expected]}
    error = _post_resident(client, {**body, "phone": "", "name": ""}, HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert error["message"] == "The submitted data is invalid"
    assert error["fields"] == {"name": ["Must not be empty"]}
    assert Resident.objects.count() == 0


def test_api_service_error_in_chinese_by_default(client, tree):
    client.force_login(factories.staff("community_worker", tree.comm_a1))
    body = {"community": tree.comm_a1.code, "name": "李四", "household": "local", "phone": "12345"}
    error = _post_resident(client, body).json()["error"]
    assert error["message"] == "请输入有效的中国大陆手机号（11 位，以 1 开头）"
    error = _post_resident(client, {**body, "phone": "", "name": ""}).json()["error"]
    assert error["message"] == "提交的数据有误" and error["fields"] == {"name": ["不能为空"]}


def test_api_authentication_error_follows_accept_language(client, db):
    assert client.get(f"{API}/me", HTTP_ACCEPT_LANGUAGE="en").json()["error"]["message"] == "Please log in first"
    assert client.get(f"{API}/me").json()["error"]["message"] == "请先登录"


# --- the catalogue ------------------------------------------------------------------------------------------------


def _unquote(text: str) -> str:
    return json.loads(text)  # a PO string literal is a JSON string for the escapes gettext writes (\" \\ \n \t)


def read_po(path: Path) -> list[dict[str, object]]:
    """The entries of a PO file: {"flags": set, "msgctxt", "msgid", "msgid_plural", "msgstr": {index: text}}."""
    entries: list[dict[str, object]] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, object] = {"flags": set(), "msgstr": {}}
        key: tuple[str, int | None] | None = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}  # type: ignore[operator]
            elif line.startswith("#~"):
                raise AssertionError(f"obsolete entry left in the catalogue: {block}")
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                assert key is not None, line
                _add(entry, key, _unquote(line))
            else:
                match = re.fullmatch(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])? (\".*\")", line)
                assert match, f"unexpected line in the catalogue: {line}"
                key = (match[1], int(match[2]) if match[2] is not None else None)
                _add(entry, key, _unquote(match[3]), new=True)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def _add(entry: dict[str, object], key: tuple[str, int | None], text: str, *, new: bool = False) -> None:
    name, index = key
    if name == "msgstr":
        strings: dict[int, str] = entry["msgstr"]  # type: ignore[assignment]
        slot = index or 0
        strings[slot] = text if new else strings[slot] + text
    else:
        entry[name] = text if new else str(entry[name]) + text


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def test_english_catalogue_is_complete():
    entries = [e for e in read_po(LOCALE / "django.po") if e["msgid"]]
    assert len(entries) > 200
    for entry in entries:
        msgid = str(entry["msgid"])
        strings: dict[int, str] = entry["msgstr"]  # type: ignore[assignment]
        assert "fuzzy" not in entry["flags"], msgid  # type: ignore[operator]
        expected = {0, 1} if "msgid_plural" in entry else {0}
        assert set(strings) == expected, msgid
        for text in strings.values():
            assert text.strip(), f"untranslated: {msgid}"
            assert not re.search(r"[\u4e00-\u9fff]", text), f"Chinese left in the English text of {msgid}: {text}"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(msgid)), f"placeholders: {msgid} → {text}"


def test_header_is_not_fuzzy_and_declares_english_plurals():
    header = next(e for e in read_po(LOCALE / "django.po") if e["msgid"] == "")
    assert "fuzzy" not in header["flags"]  # type: ignore[operator]
    text = header["msgstr"][0]  # type: ignore[index]
    assert "Language: en" in text and "Plural-Forms: nplurals=2; plural=(n != 1);" in text


def test_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in read_po(LOCALE / "django.po"):
        msgid = str(entry["msgid"])
        if not msgid:
            continue
        strings: dict[int, str] = entry["msgstr"]  # type: ignore[assignment]
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            plural = str(entry["msgid_plural"])
            assert compiled.ngettext(msgid, plural, 1) == strings[0], msgid
            assert compiled.ngettext(msgid, plural, 5) == strings[1], msgid
        elif context is not None:
            assert compiled.pgettext(str(context), msgid) == strings[0], msgid
        else:
            assert compiled.gettext(msgid) == strings[0], f"django.mo is out of date (run make messages): {msgid}"


def test_plural_message_in_english():
    with translation.override("en"):
        assert translation.ngettext("共 %(n)s 位居民", "共 %(n)s 位居民", 1) % {"n": 1} == "1 resident"
        assert translation.ngettext("共 %(n)s 位居民", "共 %(n)s 位居民", 3) % {"n": 3} == "3 residents"
    with translation.override("zh-hans"):
        assert translation.ngettext("共 %(n)s 位居民", "共 %(n)s 位居民", 3) % {"n": 3} == "共 3 位居民"


def test_import_errors_follow_the_language(db, tmp_path):
    from gongzhi.interchange.importer import ImportFailed, import_data

    (tmp_path / "places.csv").write_text("code,name,level,parent_code\n33010,杭州,city,\n", encoding="utf-8")
    for language, message, problem in [
        ("en", "Import failed: 1 error found, nothing was written", "row 2 code: The division code must be 12 digits"),
        ("zh-hans", "导入失败：发现 1 处错误，没有写入任何数据", "第 2 行 code：区划代码必须是 12 位数字"),
    ]:
        with translation.override(language), pytest.raises(ImportFailed) as failed:
            import_data(tmp_path)
        assert failed.value.message == message
        assert failed.value.fields["places.csv"][0].startswith(problem)
