"""Interchange files of deliberation: ``issues.csv`` and ``issue_actions.csv`` (METHOD.md).

``issues.csv`` carries an issue's community, who raised it, its status and the dates of its steps (raised, discussed,
decided, implemented, closed) — what METHOD.md's II6, G1 and G2 read. An imported issue is history: its status is taken
as given (the legal moves of ``ISSUE_TRANSITIONS`` bind the services, not the import), but the file must be coherent:

- a ``closed`` issue has a ``closed_on``; a ``rejected`` issue never has one (a rejected issue is never closed);
- a step's date is only given for steps the status has reached (an ``open`` issue has no ``decided_on``; a rejected
  issue may have been discussed, never decided, implemented or closed);
- the dates are in order: raised ≤ discussed ≤ decided ≤ implemented ≤ closed.

The title and description are not METHOD.md columns: an optional import-only ``title`` column names the issue (a new
issue without one is called “议题 <ref>”), and export never writes it. A new issue starts with one status record; a
re-import that changes the status records the change (reason “数据导入”), as ``organizations.csv`` does for stages.

``issue_actions.csv`` is the participation ledger (raise, comment, propose, vote — never what someone voted for). Its
key is every column, so a re-import creates the missing rows and leaves the others untouched.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q
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
from gongzhi.places import codes
from gongzhi.places.interchange import read_place_code, report_unknown_places

from .models import Issue, IssueAction, IssueActionKind, IssueStatus, IssueStatusChange

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ISSUES_FILE = "issues.csv"
ISSUE_ACTIONS_FILE = "issue_actions.csv"
STATUS_CHOICES: dict[str, StrOrPromise] = dict(IssueStatus.choices)
ACTION_CHOICES: dict[str, StrOrPromise] = dict(IssueActionKind.choices)
BATCH = 2000

# The dated steps in order, and the steps each status has reached (whose dates may be filled).
STEP_COLUMNS = ("raised_on", "discussed_on", "decided_on", "implemented_on", "closed_on")
REACHED: dict[str, tuple[str, ...]] = {
    IssueStatus.OPEN: STEP_COLUMNS[:1],
    IssueStatus.DISCUSSING: STEP_COLUMNS[:2],
    IssueStatus.DECIDED: STEP_COLUMNS[:3],
    IssueStatus.IMPLEMENTING: STEP_COLUMNS[:4],
    IssueStatus.CLOSED: STEP_COLUMNS,
    IssueStatus.REJECTED: STEP_COLUMNS[:2],
}


# --- issues.csv ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueRow:
    ref: str
    community_code: str
    raised_by: str  # a resident ref, or "" (raised by staff or unknown)
    raised_on: datetime.date
    status: str
    discussed_on: datetime.date | None
    decided_on: datetime.date | None
    implemented_on: datetime.date | None
    closed_on: datetime.date | None
    title: str  # import only; "" keeps the stored title (or names a new issue after its ref)


class IssuesFile(FileSpec[IssueRow]):
    name = ISSUES_FILE
    title = gettext_lazy("议题")
    order = 80  # after attendance (70)
    columns = (
        Column("ref"),
        Column("community_code"),
        Column("raised_by"),
        Column("raised_on"),
        Column("status"),
        Column("discussed_on"),
        Column("decided_on"),
        Column("implemented_on"),
        Column("closed_on"),
        Column("title", required=False, exported=False),
    )
    key = ("ref",)

    def parse_row(self, cells: Cells) -> IssueRow | None:
        ref = cells.text("ref", required=True, max_length=64)
        community_code = read_place_code(cells, "community_code", level="community")
        raised_by = cells.text("raised_by", max_length=64)
        status = cells.choice("status", STATUS_CHOICES, required=True)
        dates = {column: cells.date(column, required=column == "raised_on") for column in STEP_COLUMNS}
        title = cells.text("title", max_length=200)
        if status == IssueStatus.CLOSED and dates["closed_on"] is None and "closed_on" not in cells.errors:
            cells.error("closed_on", _("状态为 closed（已办结）的议题必须填写办结日期"))
        if status:
            label = STATUS_CHOICES[status]
            for column in STEP_COLUMNS:
                if dates[column] is not None and column not in REACHED[status]:
                    if status == IssueStatus.REJECTED and column == "closed_on":
                        message = _("不予立项的议题不能有办结日期")
                    else:
                        message = _("状态为 %(status)s（%(label)s）的议题不能有 %(column)s") % {
                            "status": status,
                            "label": label,
                            "column": column,
                        }
                    cells.error(column, message)
        previous: tuple[str, datetime.date] | None = None
        for column in STEP_COLUMNS:
            day = dates[column]
            if day is None:
                continue
            if previous is not None and day < previous[1]:
                cells.error(
                    column,
                    _("%(column)s %(day)s 不能早于 %(previous)s %(previous_day)s")
                    % {"column": column, "day": day, "previous": previous[0], "previous_day": previous[1]},
                )
            previous = (column, day)
        raised_on = dates["raised_on"]
        if not cells.ok or raised_on is None:
            return None
        return IssueRow(
            ref,
            community_code,
            raised_by,
            raised_on,
            status,
            dates["discussed_on"],
            dates["decided_on"],
            dates["implemented_on"],
            dates["closed_on"],
            title,
        )

    def validate(self, rows: list[ParsedRow[IssueRow]], context: ImportContext) -> None:
        report_unknown_places(
            context, self.name, [(r.number, "community_code", r.value.community_code) for r in rows], what=_("社区")
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "raised_by", r.value.raised_by) for r in rows if r.value.raised_by],
            source_file=RESIDENTS_FILE,
            model=Resident,
            what=_("居民"),
        )

    def write(self, rows: list[IssueRow], context: WriteContext) -> WriteCounts:
        counts = WriteCounts()
        for batch in chunks(sorted(rows, key=lambda r: r.ref), self.batch_size):
            residents = ref_ids(Resident, (r.raised_by for r in batch if r.raised_by))
            existing = {i.ref: i for i in Issue.objects.filter(ref__in=[r.ref for r in batch])}
            new: list[Issue] = []
            changed: list[Issue] = []
            history: list[IssueStatusChange] = []
            for row in batch:
                issue = existing.get(row.ref)
                if issue is None:
                    issue = Issue(ref=row.ref, title=row.title or _("议题 %(ref)s") % {"ref": row.ref})
                    self._apply(issue, row, residents)
                    new.append(issue)
                    history.append(
                        IssueStatusChange(issue=issue, from_status="", to_status=row.status, reason=_("数据导入"))
                    )
                    continue
                old_status = issue.status
                if self._apply(issue, row, residents):
                    issue.updated_at = context.now
                    changed.append(issue)
                    if issue.status != old_status:
                        history.append(
                            IssueStatusChange(
                                issue=issue, from_status=old_status, to_status=issue.status, reason=_("数据导入")
                            )
                        )
                else:
                    counts.unchanged += 1
            Issue.objects.bulk_create(new)
            Issue.objects.bulk_update(changed, [*self._fields(), "updated_at"])
            IssueStatusChange.objects.bulk_create(history)
            counts.created += len(new)
            counts.updated += len(changed)
            context.advance(len(batch))
        return counts

    @staticmethod
    def _fields() -> list[str]:
        return [
            "community",
            "raised_by",
            "raised_on",
            "status",
            "discussed_on",
            "decided_on",
            "implemented_on",
            "closed_on",
            "title",
        ]

    @staticmethod
    def _apply(issue: Issue, row: IssueRow, residents: dict[str, object]) -> bool:
        """Copy the row onto the issue; whether anything changed. An empty ``title`` keeps the stored one."""
        values: dict[str, object] = {
            "community_id": row.community_code,
            "raised_by_id": residents[row.raised_by] if row.raised_by else None,
            "raised_on": row.raised_on,
            "status": row.status,
            "discussed_on": row.discussed_on,
            "decided_on": row.decided_on,
            "implemented_on": row.implemented_on,
            "closed_on": row.closed_on,
        }
        if row.title:
            values["title"] = row.title
        changed = False
        for attr, value in values.items():
            if getattr(issue, attr) != value:
                setattr(issue, attr, value)
                changed = True
        return changed

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = Issue.objects.filter(place_filter(place_code, "community__code")).order_by("ref")
        fields = (
            "ref",
            "community_id",
            "raised_by__ref",
            "raised_by__community_id",
            "raised_on",
            "status",
            "discussed_on",
            "decided_on",
            "implemented_on",
            "closed_on",
        )
        prefix = codes.prefix_of(place_code) if place_code else ""
        for ref, community, raiser, raiser_community, *rest in qs.values_list(*fields).iterator(chunk_size=BATCH):
            # A raiser living outside the exported place is not in its residents.csv: leave the cell empty.
            if raiser and prefix and not str(raiser_community).startswith(prefix):
                raiser = None
            yield [cell(ref), cell(community), cell(raiser), *(cell(v) for v in rest)]


# --- issue_actions.csv ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueActionRow:
    issue_ref: str
    resident_ref: str
    action: str
    at: datetime.datetime


class IssueActionsFile(FileSpec[IssueActionRow]):
    name = ISSUE_ACTIONS_FILE
    title = gettext_lazy("议事参与记录")
    order = 85
    columns = (Column("issue_ref"), Column("resident_ref"), Column("action"), Column("at"))
    key = ("issue_ref", "resident_ref", "action", "at")

    def parse_row(self, cells: Cells) -> IssueActionRow | None:
        issue_ref = cells.text("issue_ref", required=True, max_length=64)
        resident_ref = cells.text("resident_ref", required=True, max_length=64)
        action = cells.choice("action", ACTION_CHOICES, required=True)
        at = cells.datetime("at", required=True)
        if not cells.ok or at is None:
            return None
        return IssueActionRow(issue_ref, resident_ref, action, at)

    def validate(self, rows: list[ParsedRow[IssueActionRow]], context: ImportContext) -> None:
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "issue_ref", r.value.issue_ref) for r in rows],
            source_file=ISSUES_FILE,
            model=Issue,
            what=_("议题"),
        )
        report_unknown_refs(
            context,
            self.name,
            [(r.number, "resident_ref", r.value.resident_ref) for r in rows],
            source_file=RESIDENTS_FILE,
            model=Resident,
            what=_("居民"),
        )

    def write(self, rows: list[IssueActionRow], context: WriteContext) -> WriteCounts:
        """Create the rows not stored yet; a stored row (same four cells, the same instant in any offset) is unchanged."""
        counts = WriteCounts()
        ordered = sorted(rows, key=lambda r: (r.issue_ref, r.resident_ref, r.action, r.at))
        for batch in chunks(ordered, self.batch_size):
            issues = ref_ids(Issue, (r.issue_ref for r in batch))
            residents = ref_ids(Resident, (r.resident_ref for r in batch))
            stored = set(
                IssueAction.objects.filter(
                    issue_id__in=set(issues.values()), resident_id__in=set(residents.values())
                ).values_list("issue_id", "resident_id", "action", "at")
            )
            new: list[IssueAction] = []
            for row in batch:
                key = (issues[row.issue_ref], residents[row.resident_ref], row.action, row.at)
                if key in stored:
                    counts.unchanged += 1
                    continue
                stored.add(key)
                new.append(IssueAction(issue_id=key[0], resident_id=key[1], action=row.action, at=row.at))
            IssueAction.objects.bulk_create(new)
            counts.created += len(new)
            context.advance(len(batch))
        return counts

    def export(self, *, place_code: str | None = None) -> Iterator[list[str]]:
        qs = IssueAction.objects.filter(place_filter(place_code, "issue__community__code"))
        if place_code:
            qs = qs.filter(place_filter(place_code, "resident__community__code"))
        qs = qs.filter(~Q(resident__ref="")).order_by("issue__ref", "resident__ref", "action", "at")
        for values in qs.values_list("issue__ref", "resident__ref", "action", "at").iterator(chunk_size=BATCH):
            yield [cell(v) for v in values]


ISSUES = register(IssuesFile())
ISSUE_ACTIONS = register(IssueActionsFile())
