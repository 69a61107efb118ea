"""The social-capital survey instrument (METHOD.md "The survey"): four scales, Likert 1–5, three items each.

Item ids are the ``item`` column of ``survey_answers.csv``; they never change meaning. The wording is the project's
own: Chinese source strings in ``TEXTS`` (translated through the catalogue like every UI string) and the same items in
English in ``ENGLISH`` (plain strings, so that docs and tests can show both side by side).

Every item is a statement the resident agrees or disagrees with (1 非常不同意 … 5 非常同意), so that one answer scale
serves all twelve and a higher value always means more of the scale (no reverse-coded items): trust (generalised,
neighbours, community institutions), norms (reciprocity, cooperation, fairness), network resources ("could you get help
with … from someone you know": borrowing, care of a child or an elder, advice) and satisfaction with community
governance.

The ids (``SCALES``, ``ITEMS`` …) are what the engine reads; importing this module needs no Django settings (the texts
are lazy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# scale → its item ids, in the order they are asked
SCALES: dict[str, tuple[str, ...]] = {
    "trust": ("T1", "T2", "T3"),  # generalised trust, trust in neighbours, trust in community institutions
    "norms": ("N1", "N2", "N3"),  # reciprocity, cooperation, fairness
    "network": ("R1", "R2", "R3"),  # could you get help with … from someone you know
    "satisfaction": ("S1", "S2", "S3"),  # satisfaction with community governance
}
# scale → the indicator id its score is stored under (engine.spec.SURVEY_SCALES gives the dimension)
SCALE_INDICATORS: dict[str, str] = {
    "trust": "S_TRUST",
    "norms": "S_NORMS",
    "network": "S_NETWORK",
    "satisfaction": "S_SATISFACTION",
}
ITEMS: tuple[str, ...] = tuple(item for items in SCALES.values() for item in items)
SCALE_OF: dict[str, str] = {item: scale for scale, items in SCALES.items() for item in items}
VALUES: tuple[int, ...] = (1, 2, 3, 4, 5)

# --- wording ---------------------------------------------------------------------------------------------------------

SCALE_LABELS: dict[str, StrOrPromise] = {
    "trust": _("信任"),
    "norms": _("互惠与合作规范"),
    "network": _("网络资源"),
    "satisfaction": _("治理满意度"),
}
# What the resident reads above each group of three items.
SCALE_PROMPTS: dict[str, StrOrPromise] = {
    "trust": _("您对身边的人和社区有多信任？"),
    "norms": _("您觉得社区里的人相处得怎么样？"),
    "network": _("需要帮忙时，您能从认识的人那里得到帮助吗？"),
    "satisfaction": _("您对社区的治理和服务满意吗？"),
}
TEXTS: dict[str, StrOrPromise] = {
    "T1": _("总的来说，我觉得平时打交道的大多数人是靠得住的。"),
    "T2": _("我信任本社区的邻居，遇到事情可以放心托付给他们。"),
    "T3": _("我相信居委会、社区学校等社区机构会为居民着想。"),
    "N1": _("邻居帮过我，我也会主动帮邻居；大家有来有往。"),
    "N2": _("社区里有需要大家一起做的事，多数居民愿意出一份力。"),
    "N3": _("在这个社区，不论是老居民还是新市民，都会受到公平对待。"),
    "R1": _("需要借点东西（如工具、梯子）时，我能从认识的人那里借到。"),
    "R2": _("家里临时需要有人照看孩子或老人时，我能找到认识的人帮忙。"),
    "R3": _("遇到难办的事（如办手续、看病、孩子上学），我能从认识的人那里得到建议。"),
    "S1": _("我对社区处理居民所反映问题的方式感到满意。"),
    "S2": _("我对居民参与商量和决定社区事务的机会感到满意。"),
    "S3": _("总的来说，我对本社区的治理和服务感到满意。"),
}
# A few words per item, for chart axes and tables where the full statement does not fit.
SHORT: dict[str, StrOrPromise] = {
    "T1": _("普遍信任"),
    "T2": _("信任邻居"),
    "T3": _("信任社区机构"),
    "N1": _("互惠"),
    "N2": _("合作"),
    "N3": _("公平"),
    "R1": _("借东西"),
    "R2": _("照看老小"),
    "R3": _("遇事有人出主意"),
    "S1": _("问题处理"),
    "S2": _("参与商量决定"),
    "S3": _("总体满意"),
}
LIKERT: tuple[tuple[int, StrOrPromise], ...] = (
    (1, _("非常不同意")),
    (2, _("不太同意")),
    (3, _("说不清")),
    (4, _("比较同意")),
    (5, _("非常同意")),
)

# The same instrument in English (for docs, tests and readers of survey_answers.csv).
ENGLISH: dict[str, str] = {
    "T1": "On the whole, most of the people I deal with day to day can be relied on.",
    "T2": "I trust the neighbours in my community; I could count on them if something came up.",
    "T3": "I believe community bodies such as the residents' committee and the community school look out for residents.",
    "N1": "When a neighbour has helped me, I help neighbours in turn; it goes both ways here.",
    "N2": "When something in the community needs doing together, most residents are willing to pitch in.",
    "N3": "In this community, long-time residents and newcomers alike are treated fairly.",
    "R1": "If I needed to borrow something (a tool, a ladder), I could borrow it from someone I know.",
    "R2": "If I suddenly needed someone to look after a child or an elder at home, I could find someone I know to help.",
    "R3": "When something is hard to sort out (paperwork, seeing a doctor, a child's schooling), I can get advice "
    "from someone I know.",
    "S1": "I am satisfied with how the community deals with the problems residents raise.",
    "S2": "I am satisfied with the chances residents have to discuss and decide community matters.",
    "S3": "Overall, I am satisfied with how my community is run and served.",
}
SHORT_ENGLISH: dict[str, str] = {
    "T1": "Trust in people",
    "T2": "Trust in neighbours",
    "T3": "Trust in community bodies",
    "N1": "Reciprocity",
    "N2": "Cooperation",
    "N3": "Fairness",
    "R1": "Borrowing",
    "R2": "Care of a child or elder",
    "R3": "Advice",
    "S1": "Handling of problems",
    "S2": "Say in decisions",
    "S3": "Overall satisfaction",
}
SCALE_ENGLISH: dict[str, str] = {
    "trust": "Trust",
    "norms": "Norms of reciprocity and cooperation",
    "network": "Network resources",
    "satisfaction": "Satisfaction with community governance",
}
LIKERT_ENGLISH: dict[int, str] = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Not sure",
    4: "Agree",
    5: "Strongly agree",
}


def item_number(item: str) -> int:
    """The item's position in the questionnaire (1–12), as residents see it."""
    return ITEMS.index(item) + 1
