"""What the indicators, dimensions and strategies of 析 measure are called and how their values read (translated).

``engine.spec`` holds the method as data (ids, dimensions, goalposts); this module holds what people read: for every
indicator id its Chinese name (METHOD.md), a one-line formula, and its unit (how a raw value is written); for the three
dimensions of the paper's Table 1 their social capital, the governance dilemma they ease, and the paper's strategy for
that dilemma with concrete actions (程仙平、吕佳《教育赋能基层社区治理的机制分析和实践进路》, 五(二) 对策建议 and the
cases of 四(二)). Dashboards and reports read it; nothing here touches the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .engine import spec

Text = str | Promise

# --- units ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """How a raw value is written: ``share`` 0–1 as a percentage, ``per_1000`` per 1,000 population, ``hours`` per
    person, ``entropy`` and ``ratio`` 0–1 plain, ``index`` −1…1 signed, ``days``, ``count`` whole numbers, ``likert``
    1–5, ``score`` 0–100."""

    key: str
    label: Text  # shown beside a column or an axis
    digits: int


UNITS: dict[str, Unit] = {
    u.key: u
    for u in (
        Unit("share", _("占比（%）"), 1),
        Unit("per_1000", _("每千人"), 2),
        Unit("hours", _("小时/人"), 2),
        Unit("entropy", _("归一化熵（0–1）"), 3),
        Unit("ratio", _("系数（0–1）"), 3),
        Unit("index", _("指数（−1～1）"), 3),
        Unit("days", _("天"), 1),
        Unit("count", _("个数"), 0),
        Unit("likert", _("均分（1–5）"), 2),
        Unit("score", _("得分（0–100）"), 1),
    )
}

NO_DATA = _("暂无数据")


def format_number(value: float | None, unit: str) -> str:
    """A raw value written in its unit (Chinese conventions); ``暂无数据`` for a null or not-a-number."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return str(NO_DATA)
    u = UNITS[unit]
    if unit == "share":
        return f"{value * 100:.{u.digits}f}%"
    if unit == "per_1000":
        return gettext("%(v)s / 千人") % {"v": f"{value:,.{u.digits}f}"}
    if unit == "hours":
        return gettext("%(v)s 小时/人") % {"v": f"{value:,.{u.digits}f}"}
    if unit == "days":
        return gettext("%(v)s 天") % {"v": f"{value:,.{u.digits}f}"}
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "index":
        return f"{value:+.{u.digits}f}".replace("-", "−")
    if unit == "likert":
        return f"{value:.{u.digits}f} / 5"
    return f"{value:.{u.digits}f}"


def format_score(score: float | None) -> str:
    if score is None or (isinstance(score, float) and not math.isfinite(score)):
        return str(NO_DATA)
    return f"{score:.1f}"


# --- indicators -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorInfo:
    id: str
    name: Text
    formula: Text  # one line: how the value is computed
    unit: str  # a key of UNITS
    dimension: str | None  # "I", "II", "III", or None (reported, not scored)
    scored: bool
    group: str  # "core", "survey", "extra", "dimension"
    numerator: Text = ""  # what the numerator counts, when the value is a ratio
    denominator: Text = ""

    def format(self, value: float | None) -> str:
        return format_number(value, self.unit)

    @property
    def unit_label(self) -> str:
        return str(UNITS[self.unit].label)


def _core(
    id_: str, name: Text, formula: Text, unit: str, numerator: Text = "", denominator: Text = ""
) -> IndicatorInfo:
    s = spec.BY_ID[id_]
    return IndicatorInfo(id_, name, formula, unit, s.dimension, s.scored, "core", numerator, denominator)


POPULATION = _("人口")

_CORE = (
    _core("I1", _("参与覆盖率"), _("本期参加过教育活动的居民 ÷ 人口"), "share", _("参与居民"), POPULATION),
    _core(
        "I2",
        _("持续参与率"),
        _("上期参加过教育活动的居民中，本期仍参加的比例"),
        "share",
        _("两期都参加"),
        _("上期参加"),
    ),
    _core(
        "I3", _("深度参与率"), _("教育活动参与者中，本期参加 3 次及以上的比例"), "share", _("参加≥3次"), _("参与居民")
    ),
    _core(
        "I4",
        _("议事参与率"),
        _("本期提出、评论、提案、表决议题或出席议事会的居民 ÷ 人口"),
        "share",
        _("议事参与者"),
        POPULATION,
    ),
    _core(
        "I5",
        _("学治转化率"),
        _("教育活动参与者中，本期也参与议事或志愿服务的比例"),
        "share",
        _("参与议事或志愿"),
        _("参与居民"),
    ),
    _core("II1", _("组织密度"), _("本期开展过活动的组织数，每千人"), "per_1000", _("活跃组织"), POPULATION),
    _core(
        "II2",
        _("组织成熟度"),
        _("活跃组织中处于专业化或自治型阶段的比例"),
        "share",
        _("专业化/自治型组织"),
        _("活跃组织"),
    ),
    _core("II3", _("组织化率"), _("本期在活跃组织中有成员身份的居民 ÷ 人口"), "share", _("组织成员"), POPULATION),
    _core("II4", _("志愿服务"), _("居民本期志愿服务时长 ÷ 人口"), "hours", _("志愿时长（小时）"), POPULATION),
    _core(
        "II5",
        _("居民自组织"),
        _("本社区本期活动中由组织（而非工作人员）组织的比例"),
        "share",
        _("组织发起的活动"),
        _("活动"),
    ),
    _core(
        "II6",
        _("议事规范"),
        _("本期办结的议题中，讨论、决定、落实日期齐全的比例"),
        "share",
        _("程序完整的议题"),
        _("办结议题"),
    ),
    _core(
        "III1",
        _("外部资源"),
        _("本期资源被本社区活动使用或满足本社区需求的资源方数，每千人"),
        "per_1000",
        _("资源方"),
        POPULATION,
    ),
    _core("III2", _("资源多样性"), _("本社区活动所用资源类型的香农熵 ÷ ln 6"), "entropy"),
    _core(
        "III3",
        _("需求满足率"),
        _("本期提出的需求中，期末前已满足的比例"),
        "share",
        _("已满足需求"),
        _("提出的需求"),
    ),
    _core(
        "III4",
        _("共建共享"),
        _("本社区本期活动中使用了资源方资源的比例"),
        "share",
        _("使用外部资源的活动"),
        _("活动"),
    ),
    _core(
        "III5",
        _("桥接"),
        _("共同参与网络中（跨群体边 − 群体内边）÷ 全部边：户籍居民与新市民的连接"),
        "index",
        _("跨群体边 − 群体内边"),
        _("全部边"),
    ),
    _core("III6", _("网络连通"), _("共同参与网络中最大连通片的节点占比"), "share", _("最大连通片节点"), _("节点")),
    _core("III7", _("内部粘合"), _("共同参与网络的全局传递性：三角形 × 3 ÷ 连通三元组"), "ratio"),
    _core("E1", _("教育活动密度"), _("本社区本期举办的教育活动数，每千人"), "per_1000", _("教育活动"), POPULATION),
    _core("E2", _("学习共同体密度"), _("本期活跃的学习共同体数，每千人"), "per_1000", _("学习共同体"), POPULATION),
    _core(
        "G1",
        _("议题落实"),
        _("本期办结且有落实日期的议题数，每千人"),
        "per_1000",
        _("落实的议题"),
        POPULATION,
    ),
    _core("G2", _("议题办结天数"), _("上述议题从提出到办结天数的中位数"), "days"),
)

_SURVEY = (
    IndicatorInfo(
        "S_TRUST",
        _("信任量表"),
        _("社会资本调查信任题的题均分的平均（1–5）"),
        "likert",
        "I",
        True,
        "survey",
        _("受访者"),
    ),
    IndicatorInfo(
        "S_NORMS",
        _("规范量表"),
        _("社会资本调查规范题的题均分的平均（1–5）"),
        "likert",
        "II",
        True,
        "survey",
        _("受访者"),
    ),
    IndicatorInfo(
        "S_NETWORK",
        _("网络资源量表"),
        _("社会资本调查网络资源题的题均分的平均（1–5）"),
        "likert",
        "III",
        True,
        "survey",
        _("受访者"),
    ),
    IndicatorInfo(
        "S_SATISFACTION",
        _("治理满意度"),
        _("社区治理满意度题的题均分的平均（1–5），只报告、不计分"),
        "likert",
        None,
        False,
        "survey",
        _("受访者"),
    ),
)

_EXTRA = (
    IndicatorInfo(
        "POP", _("人口"), _("本期人口：人口表的年度人口，缺失时为期末在册居民数"), "count", None, False, "extra"
    ),
    IndicatorInfo("NODES", _("网络节点"), _("本期参加过任一活动的本社区居民数"), "count", None, False, "extra"),
    IndicatorInfo("EDGES", _("网络连线"), _("同场活动出席的居民两两之间的连线数"), "count", None, False, "extra"),
    IndicatorInfo("DENSITY", _("网络密度"), _("连线数 ÷ 可能的连线数"), "ratio", None, False, "extra"),
)

_DIMS = (
    IndicatorInfo("DIM_I", _("维度Ⅰ 信任/参与"), _("信任维度各指标得分的加权平均"), "score", "I", False, "dimension"),
    IndicatorInfo("DIM_II", _("维度Ⅱ 规范/组织"), _("规范维度各指标得分的加权平均"), "score", "II", False, "dimension"),
    IndicatorInfo(
        "DIM_III", _("维度Ⅲ 网络/资源"), _("网络维度各指标得分的加权平均"), "score", "III", False, "dimension"
    ),
    IndicatorInfo("COMPOSITE", _("综合得分"), _("三个维度得分的平均"), "score", None, False, "dimension"),
)

INDICATORS: dict[str, IndicatorInfo] = {i.id: i for i in (*_CORE, *_SURVEY, *_EXTRA, *_DIMS)}
# The order pages list indicators in: the core ids (spec order), the survey scales, then the extra counts.
INDICATOR_ORDER: tuple[str, ...] = (*spec.EXPORT_IDS, *(s.id for s in spec.SURVEY), *spec.EXTRA_IDS)
DIMENSION_ROWS: tuple[str, ...] = (*spec.DIMENSION_ROWS.values(), spec.COMPOSITE)


def indicator(id_: str) -> IndicatorInfo:
    """The catalogue entry of an indicator id; an unknown id (a newer engine's) gets a plain entry named by its id."""
    found = INDICATORS.get(id_)
    if found is not None:
        return found
    return IndicatorInfo(id_, id_, "", "ratio", spec.dimension_of(id_), False, "extra")


# --- dimensions, dilemmas, strategies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    text: Text
    url_name: str = ""  # a staff page of the platform where the action is carried out ("" = none)
    link_label: Text = ""


@dataclass(frozen=True)
class DimensionInfo:
    id: str  # "I", "II", "III"
    row: str  # "DIM_I" …
    numeral: str  # "Ⅰ"
    name: Text  # 信任/参与
    capital: Text  # the social capital: 信任
    function: Text  # the community-education function: 主体增能
    dilemma: Text  # the governance dilemma it eases: 参与不足
    mode: Text  # the practice mode: 学
    strategy: Text  # the paper's strategy for the dilemma
    summary: Text  # one line: why the strategy answers the dilemma
    actions: tuple[Action, ...]

    @property
    def label(self) -> str:
        return gettext("维度%(n)s %(name)s") % {"n": self.numeral, "name": self.name}


DIMENSIONS: dict[str, DimensionInfo] = {
    "I": DimensionInfo(
        id="I",
        row="DIM_I",
        numeral="Ⅰ",
        name=_("信任/参与"),
        capital=_("信任"),
        function=_("主体增能"),
        dilemma=_("参与不足"),
        mode=_("学：学习共同体"),
        strategy=_("强化学习共同体孵化机制"),
        summary=_("以“共学”促“共商”、以“共商”促“共治”：通过学习共同体提升居民参与社区公共事务的能力与意愿。"),
        actions=(
            Action(
                _("培育社区学习文化，挖掘社区学习文化精神，形成倡导终身学习的社区风尚。"),
                "course_list",
                _("课程"),
            ),
            Action(
                _(
                    "强化学习共同体保障体制：建立透明的信息公开机制和资源共享机制，探索公益性与市场化相结合的经费筹措模式。"
                ),
                "organization_list",
                _("学习共同体"),
            ),
            Action(_("健全学习共同体奖惩机制，推行“市场遴选、末位淘汰”。"), "stage_board", _("组织培育")),
            Action(
                _(
                    "把社区重要事务引入课堂和学习共同体讨论（如“班长议事会”“村民说事”），做到民事民议、民事民决、民事民治。"
                ),
                "issue_list",
                _("议事"),
            ),
        ),
    ),
    "II": DimensionInfo(
        id="II",
        row="DIM_II",
        numeral="Ⅱ",
        name=_("规范/组织"),
        capital=_("规范"),
        function=_("组织培育"),
        dilemma=_("组织化主体不足"),
        mode=_("育：社会组织"),
        strategy=_("强化社会组织培育机制"),
        summary=_("以教育孵化和扶持培育提升社会组织的专业能力，使其成为社区治理的多元主体。"),
        actions=(
            Action(
                _("建立社会组织参与社区治理的准入制度和监督考核标准，引入市场化运作机制，提升社会组织精准化水平。"),
                "stage_board",
                _("组织培育"),
            ),
            Action(
                _("分层分类培育：向社会组织输送优质师资和学习资源，引导草根组织向专业化、自治型公益组织发展。"),
                "organization_list",
                _("学习共同体"),
            ),
            Action(
                _("通过政府购买服务、制定供给清单、创设公益岗位，引导社会组织和志愿服务队服务社区治理。"),
                "volunteer_teams",
                _("志愿服务队"),
            ),
            Action(
                _("构建供需双方互动通道：建立“自上而下的需求调查与自下而上的需求传递”一体化双向渠道。"),
                "survey_list",
                _("需求调查"),
            ),
        ),
    ),
    "III": DimensionInfo(
        id="III",
        row="DIM_III",
        numeral="Ⅲ",
        name=_("网络/资源"),
        capital=_("网络"),
        function=_("要素融合"),
        dilemma=_("资源分散"),
        mode=_("联：资源聚集"),
        strategy=_("扩大教育资源供给范围"),
        summary=_("“善学”是“善治”的前提：链接社区内外资源，构建服务社区治理的资源网络。"),
        actions=(
            Action(
                _("建立政府主导、部门协同、全社会共同参与的多元协同机制，形成多节点分布式的社区优质资源服务体系。"),
                "provider_list",
                _("资源方"),
            ),
            Action(
                _("拓展社区学习空间，丰富学习空间的内容和功能，形成“能学、学好、学成”的多维学习空间。"),
                "space_list",
                _("学习空间"),
            ),
            Action(
                _("拓展社区资源网络：有效链接社区内外资源（企业、高校、金融机构结对共建），促进组织内外资源互联互动。"),
                "resource_network",
                _("资源网络"),
            ),
            Action(_("以需求对接资源：让居民提出的需求及时匹配到资源并跟踪满足。"), "need_list", _("需求对接")),
        ),
    ),
}

NO_DILEMMA = _("无明显短板")


def dimension(dim: str) -> DimensionInfo:
    return DIMENSIONS[dim]


def parse_dilemmas(stored: str) -> list[str]:
    """``DiagnosisSnapshot.dilemmas`` ("I", "II;III", "") → the dimension ids, in I, II, III order."""
    found = {part.strip() for part in (stored or "").split(";") if part.strip()}
    return [d for d in spec.DIMENSIONS if d in found]


def strategies_for(stored: str) -> list[DimensionInfo]:
    """The dimensions (with their dilemma, strategy and actions) named by a stored diagnosis; empty for none."""
    return [DIMENSIONS[d] for d in parse_dilemmas(stored)]


def dilemma_text(stored: str) -> str:
    """One line: "参与不足；资源分散", or "无明显短板"."""
    dims = strategies_for(stored)
    if not dims:
        return str(NO_DILEMMA)
    return "；".join(str(d.dilemma) for d in dims)


def strategy_text(stored: str) -> str:
    """One line: the strategies for a stored diagnosis ("" when there is no dominant dilemma)."""
    return "；".join(str(d.strategy) for d in strategies_for(stored))


def as_json() -> dict[str, Any]:
    """The catalogue as plain data in the active language (for charts and the API)."""
    return {
        "indicators": {
            i.id: {
                "name": str(i.name),
                "formula": str(i.formula),
                "unit": i.unit,
                "unit_label": i.unit_label,
                "dimension": i.dimension,
                "scored": i.scored,
                "numerator": str(i.numerator),
                "denominator": str(i.denominator),
            }
            for i in INDICATORS.values()
        },
        "dimensions": {
            d.id: {
                "row": d.row,
                "label": d.label,
                "name": str(d.name),
                "dilemma": str(d.dilemma),
                "strategy": str(d.strategy),
            }
            for d in DIMENSIONS.values()
        },
    }
