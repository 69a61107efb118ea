"""The national 12-digit statistical division code (统计用区划代码).

Layout: province 2 digits, city 2, district/county 2, street/township 3, community/village 3. A place's level follows from
where its trailing zeros begin, its subtree is every code that starts with its significant prefix, and its ancestors are
the codes made by zeroing the tail — so subtree and ancestor look-ups take one query each.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

LEVELS = ("province", "city", "district", "street", "community")
PREFIX_LENGTH = {"province": 2, "city": 4, "district": 6, "street": 9, "community": 12}
CODE_RE = re.compile(r"^\d{12}$")


class CodeError(ValueError):
    pass


def validate_code(code: str) -> str:
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise CodeError(_("区划代码必须是 12 位数字"))
    if code[:2] == "00":
        raise CodeError(_("区划代码的省级部分不能为 00"))
    return code


def level_of(code: str) -> str:
    """The level implied by the code: the last non-zero segment decides it."""
    validate_code(code)
    if code[9:] != "000":
        return "community"
    if code[6:9] != "000":
        return "street"
    if code[4:6] != "00":
        return "district"
    if code[2:4] != "00":
        return "city"
    return "province"


def prefix_of(code: str) -> str:
    return code[: PREFIX_LENGTH[level_of(code)]]


def parent_code_of(code: str) -> str | None:
    """The code of the parent implied by the code (None for a province)."""
    level = level_of(code)
    index = LEVELS.index(level)
    if index == 0:
        return None
    parent_len = PREFIX_LENGTH[LEVELS[index - 1]]
    return code[:parent_len].ljust(12, "0")


def ancestor_codes(code: str) -> list[str]:
    """Codes of every ancestor, from the province down to the parent."""
    level = level_of(code)
    out = []
    for lv in LEVELS[: LEVELS.index(level)]:
        out.append(code[: PREFIX_LENGTH[lv]].ljust(12, "0"))
    return out


def covers(ancestor: str, code: str) -> bool:
    """True when ``code`` is ``ancestor`` or lies in its subtree."""
    return code.startswith(prefix_of(ancestor))
