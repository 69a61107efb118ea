"""Display names of the mechanism test (Chinese source strings, translated per request), shared by the page and the
API."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

VARIABLE_LABELS: dict[str, Any] = {
    "E1": _("教育投入 E1"),
    "G1": _("治理成效 G1"),
    "S_SATISFACTION": _("治理满意度"),
    "DIM_I": _("信任（维度 I）"),
    "DIM_II": _("规范（维度 II）"),
    "DIM_III": _("网络（维度 III）"),
    "COMPOSITE": _("社会资本综合得分"),
}

VARIABLE_NOTES: dict[str, Any] = {
    "E1": _("每千人社区教育活动数"),
    "G1": _("每千人落实并办结的议题数"),
    "S_SATISFACTION": _("调查得分 0–100"),
    "DIM_I": _("得分 0–100"),
    "DIM_II": _("得分 0–100"),
    "DIM_III": _("得分 0–100"),
    "COMPOSITE": _("得分 0–100"),
}

OUTCOME_CHOICES: list[tuple[str, Any]] = [
    ("G1", _("治理成效 G1（每千人落实办结议题数）")),
    ("S_SATISFACTION", _("治理满意度（社会资本调查）")),
]

REASON_LABELS: dict[str, Any] = {
    "no_rows": _("没有同时具备 E1、中介变量和结果变量的数据"),
    "too_few_rows": _("有效数据行太少"),
    "too_few_communities": _("有数据的社区太少"),
    "too_few_periods": _("有数据的时期太少"),
    "constant_x": _("各社区的教育投入 E1 没有差异"),
    "constant_m": _("中介变量没有差异"),
    "constant_y": _("结果变量没有差异"),
    "collinear": _("中介变量与 E1 完全线性相关"),
    "no_repeated_communities": _("没有社区在两个时期都有数据"),
    "absorbed": _("中介变量在社区内不随时期变化，被固定效应吸收"),
    "no_residual_df": _("扣除固定效应后自由度不足"),
    "not_finite": _("估计值无法计算"),
}


def variable_label(key: str) -> str:
    return str(VARIABLE_LABELS.get(key, key))


def reason_label(code: str | None) -> str:
    return str(REASON_LABELS.get(code or "", _("无法估计")))
