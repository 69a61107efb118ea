"""Personal-data protection: validation of ID and phone numbers, encryption at rest, keyed hashes, masking.

ID numbers (居民身份证号码, GB 11643) are stored only encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a keyed hash
(HMAC-SHA256 under a key derived from the data key) so that an exact number can be found without decrypting anything.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils.translation import gettext as _

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
ID_RE = re.compile(r"^\d{17}[\dX]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


class PersonalDataError(ValueError):
    pass


def normalise_mobile(value: str) -> str:
    phone = re.sub(r"[\s-]", "", value or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if not MOBILE_RE.match(phone):
        raise PersonalDataError(_("请输入有效的中国大陆手机号（11 位，以 1 开头）"))
    return phone


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def normalise_id_number(value: str) -> str:
    number = (value or "").strip().upper()
    if not ID_RE.match(number):
        raise PersonalDataError(_("身份证号码应为 18 位（最后一位可为 X）"))
    if id_check_digit(number[:17]) != number[17]:
        raise PersonalDataError(_("身份证号码校验位不正确"))
    return number


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


@lru_cache(maxsize=4)
def _hash_key(key: str) -> bytes:
    return hashlib.sha256(b"gongzhi-lookup-hash-v1:" + key.encode()).digest()


def encrypt(plain: str) -> str:
    return _fernet(settings.DATA_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.DATA_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise PersonalDataError(_("无法解密：数据密钥不匹配")) from exc


def lookup_hash(plain: str) -> str:
    return hmac.new(_hash_key(settings.DATA_ENCRYPTION_KEY), plain.encode(), hashlib.sha256).hexdigest()


def mask_id_number(number: str) -> str:
    return f"{number[:4]}{'*' * 10}{number[-4:]}" if len(number) == 18 else "*" * len(number)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else ("*" * len(phone))


def mask_name(name: str) -> str:
    """张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明; a Latin name keeps its first letter."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
