"""Interchange file of 析 measure: ``survey_answers.csv`` (METHOD.md), the social-capital survey's answers.

Columns ``resident_ref, community_code, answered_on, item, value``: one resident's answer to one item of the
instrument (``analytics.survey.instrument``: T1–T3, N1–N3, R1–R3, S1–S3) on a day, Likert 1–5. ``community_code`` is
the community the resident answered in (it may differ from their community today, after a move).

- Checked before anything is written: the resident must exist (in the database or this import's ``residents.csv``),
  the community must be a community-level code that exists, the item an instrument id, the value a whole number 1–5,
  the date an ISO date not after today.
- The key is ``(resident_ref, answered_on, item)``, as the database's "once a day" rule: a re-import updates a changed
  value or community and leaves identical rows untouched. An imported answer has no survey round; an answer given in
  the app that an import matches keeps its round.
- Export writes every answer (from the app and imported) under the place: the answer's community and the resident's
  community both under it (so that the exported folder imports on its own), in key order. Refs only, no names.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.core.interchange import (
    Cells,
    Column,
    FileSpec,
    ImportContext,
    ParsedRow,
    WriteContext,
    WriteCounts,
    cell,
    chunks,
    ref_ids,
    register,
    report_unknown_refs,
)
from gongzhi.organizations.interchange import place_filter
from gongzhi.people.interchange import RESIDENTS_FILE
from gongzhi.people.models import Resident
from gongzhi.places.interchange import read_place_code, report_unknown_places

from .models import SurveyAnswer
from .survey.instrument import ITEMS

SURVEY_ANSWERS_FILE = "survey_answers.csv"
BATCH = 2000
ITEM_LIST = "、".join(ITEMS)


@dataclass(frozen=True, slots=True)
class SurveyAnswerRow:
    resident_ref: str
    community_code: str
    answered_on: datetime.date
    item: str
    value: int


class SurveyAnswersFile(FileSpec[SurveyAnswerRow]):
    name = SURVEY_ANSWERS_FILE
    title = gettext_lazy("社会资本调查作答")
    order = 95  # after residents (30) and, as in METHOD.md's table, after needs (90)
    columns = (
        Column("resident_ref"),
        Column("community_code"),
        Column("answered_on"),
        Column("item"),
        Column("value"),
    )
    key = ("resident_ref", "answered_on", "item")

    def parse_row(self, cells: Cells) -> SurveyAnswerRow | None:
        resident_ref = cells.text("resident_ref", required=True, max_length=64)
        community_code = read_place_code(cells, "community_code", level="community")
        answered_on = cells.date("answered_on", required=True)
        if answered_on is not None and answered_on > timezone.localdate():
            cells.error("answered_on", _("作答日期 %(day)s 不能晚于今天") % {"day": answered_on})
        item = cells.text("item", required=True)
        if item and item not in ITEMS:
            cells.error(
                "item", _("应为调查题目编号 %(items)s 之一，而不是“%(value)s”") % {"items": ITEM_LIST, "value": item}
            )
        value = cells.integer("value", required=True, minimum=1, maximum=5)
        if not cells.ok or answered_on is None or value is None:
            return None
        return SurveyAnswerRow(resident_ref, community_code, answered_on, item, value)

    def validate(self, rows: list[ParsedRow[SurveyAnswerRow]], context: ImportContext) -> None:
        report_unknown_places(
            context, self.name, [(r.number, "community_code", r.value.community_code) for r in rows], what=_("社区")
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "resident_ref", r.value.resident_ref) for r in rows],
            source_file=RESIDENTS_FILE,
            model=Resident,
            what=_("居民"),
        )

    def write(self, rows: list[SurveyAnswerRow], context: WriteContext) -> WriteCounts:
        """Create the answers not stored yet, update a changed value or community, leave the others untouched."""
        counts = WriteCounts()
        ordered = sorted(rows, key=lambda r: (r.resident_ref, r.answered_on, r.item))
        for batch in chunks(ordered, self.batch_size):
            residents = ref_ids(Resident, (r.resident_ref for r in batch))
            first = min(r.answered_on for r in batch)
            last = max(r.answered_on for r in batch)
            stored = {
                (a.resident_id, a.answered_on, a.item): a
                for a in SurveyAnswer.objects.filter(
                    resident_id__in=set(residents.values()), answered_on__gte=first, answered_on__lte=last
                )
            }
            new: list[SurveyAnswer] = []
            changed: list[SurveyAnswer] = []
            for row in batch:
                resident_id = residents[row.resident_ref]
                answer = stored.get((resident_id, row.answered_on, row.item))
                if answer is None:
                    answer = SurveyAnswer(
                        resident_id=resident_id,
                        community_id=row.community_code,
                        answered_on=row.answered_on,
                        item=row.item,
                        value=row.value,
                    )
                    stored[(resident_id, row.answered_on, row.item)] = answer
                    new.append(answer)
                elif answer.value != row.value or answer.community_id != row.community_code:
                    answer.value = row.value
                    answer.community_id = row.community_code
                    answer.updated_at = context.now
                    changed.append(answer)
                else:
                    counts.unchanged += 1
            SurveyAnswer.objects.bulk_create(new)
            SurveyAnswer.objects.bulk_update(changed, ["value", "community", "updated_at"])
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = SurveyAnswer.objects.filter(place_filter(place_code, "community__code"))
        if place_code:
            qs = qs.filter(place_filter(place_code, "resident__community__code"))
        qs = qs.order_by("resident__ref", "answered_on", "item")
        fields = ("resident__ref", "community_id", "answered_on", "item", "value")
        for values in qs.values_list(*fields).iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


SURVEY_ANSWERS = register(SurveyAnswersFile())
