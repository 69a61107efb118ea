"""Reads of 育 cultivate: admission standards and checks, support and supply lists, schemes, rounds, entries and
scores, the stage board, and the published selections (no login). Selectors take the acting user (the public ones
show only what is published and nothing personal)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import (
    AdmissionCheck,
    AdmissionCriterion,
    AssessmentRound,
    AssessmentScheme,
    AssessmentScore,
    Membership,
    Organization,
    OrganizationStage,
    OrganizationStatus,
    RoundEntry,
    RoundStatus,
    StageChange,
    SupplyItem,
    SupportKind,
    SupportRecord,
)
from ..rules import assessor_round_ids
from ..selectors import stages_on
from . import selection


def _uid(user: Any) -> Any:
    return user.pk if getattr(user, "is_authenticated", False) else 0


def _staff_q(field_name: str, user: Any, place: Place | None) -> Q:
    q = access.prefix_q(field_name, user, access.STAFF_ROLES)
    if place is not None:
        q &= Q(**{f"{field_name}__startswith": place.prefix})
    return q


def _get(qs: QuerySet[Any], pk: Any) -> Any:
    try:
        return qs.filter(pk=pk).first()
    except (ValueError, ValidationError):
        return None


# --- admission ----------------------------------------------------------------------------------------------------


def place_chain(code: str) -> list[str]:
    """The place and every place above it (province first)."""
    return [*codes.ancestor_codes(code), code]


def admission_criteria_for(*, place_code: str, active_only: bool = True) -> QuerySet[AdmissionCriterion]:
    """The admission standard an organisation of this place must meet: the criteria of its place and of every place
    above it (higher places first)."""
    qs = AdmissionCriterion.objects.filter(place_id__in=place_chain(place_code))
    if active_only:
        qs = qs.filter(active=True)
    return qs.select_related("place").order_by("place_id", "order", "created_at")


def admission_unmet(*, organization: Organization, on: datetime.date | None = None) -> list[AdmissionCriterion]:
    """The active criteria of the organisation's place chain it does not meet (a check with ``met`` on or before
    ``on``). Two queries."""
    criteria = list(admission_criteria_for(place_code=organization.place_id))
    met = AdmissionCheck.objects.filter(organization=organization, met=True, criterion__in=criteria)
    if on is not None:
        met = met.filter(checked_on__lte=on)
    met_ids = set(met.values_list("criterion_id", flat=True))
    return [c for c in criteria if c.pk not in met_ids]


@dataclass
class ChecklistRow:
    criterion: AdmissionCriterion
    check: AdmissionCheck | None

    @property
    def met(self) -> bool:
        return self.check is not None and self.check.met


def admission_checklist(*, user: Any, organization: Organization) -> list[ChecklistRow]:
    """The organisation's admission checklist: every active criterion of its place chain with its check, if any."""
    if not user.has_perm("organizations.view_cultivation", organization):
        raise NotFound(_("找不到该组织"))
    criteria = list(admission_criteria_for(place_code=organization.place_id))
    checks = {
        c.criterion_id: c
        for c in AdmissionCheck.objects.filter(organization=organization, criterion__in=criteria).select_related(
            "checked_by"
        )
    }
    return [ChecklistRow(c, checks.get(c.pk)) for c in criteria]


@dataclass
class CriteriaGroup:
    place: Place
    criteria: list[AdmissionCriterion]
    manageable: bool
    inherited: bool


def admission_criteria_visible(*, user: Any, place: Place) -> list[CriteriaGroup]:
    """The admission standards a staff user sees from ``place``: inherited from the places above it (read only), its
    own, and those of the places below it, grouped by place. Two queries."""
    chain = place_chain(place.code)
    rows = list(
        AdmissionCriterion.objects.filter(Q(place_id__in=chain) | Q(place__code__startswith=place.prefix))
        .select_related("place")
        .order_by("place_id", "order", "created_at")
    )
    groups: dict[str, CriteriaGroup] = {}
    for c in rows:
        group = groups.get(c.place_id)
        if group is None:
            group = groups[c.place_id] = CriteriaGroup(
                place=c.place,
                criteria=[],
                manageable=user.has_perm("organizations.manage_admission", c.place),
                inherited=c.place_id != place.code and c.place_id in chain,
            )
        group.criteria.append(c)
    if place.code not in groups:
        groups[place.code] = CriteriaGroup(
            place=place, criteria=[], manageable=user.has_perm("organizations.manage_admission", place), inherited=False
        )
    return sorted(groups.values(), key=lambda g: g.place.code)


def admission_criterion_get(*, user: Any, criterion_id: Any) -> AdmissionCriterion:
    criterion = _get(AdmissionCriterion.objects.select_related("place"), criterion_id)
    if criterion is None or not user.has_perm("organizations.manage_admission", criterion.place):
        raise NotFound(_("找不到该准入标准"))
    return criterion


# --- support and supply -------------------------------------------------------------------------------------------


def support_records_of(*, user: Any, organization: Organization) -> QuerySet[SupportRecord]:
    if not user.has_perm("organizations.view_cultivation", organization):
        raise NotFound(_("找不到该组织"))
    return SupportRecord.objects.filter(organization=organization).order_by("-starts_on", "-created_at")


@dataclass
class SupportTotals:
    records: int = 0
    amount: Decimal = Decimal(0)
    posts: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def support_totals(records: Iterable[SupportRecord]) -> SupportTotals:
    totals = SupportTotals()
    for r in records:
        totals.records += 1
        totals.amount += r.amount or Decimal(0)
        if r.kind == SupportKind.POST:
            totals.posts += r.quantity or 0
        totals.by_kind[r.kind] = totals.by_kind.get(r.kind, 0) + 1
    return totals


def support_records_visible(
    *, user: Any, place: Place | None = None, kind: str = "", year: int | None = None
) -> QuerySet[SupportRecord]:
    """Support records of the organisations under the staff places the user covers (a period that touches ``year``)."""
    qs = SupportRecord.objects.filter(_staff_q("organization__place__code", user, place))
    if kind:
        qs = qs.filter(kind=kind)
    if year:
        qs = qs.filter(starts_on__lte=datetime.date(year, 12, 31)).filter(
            Q(ends_on__isnull=True, starts_on__gte=datetime.date(year, 1, 1))
            | Q(ends_on__gte=datetime.date(year, 1, 1))
        )
    return qs.select_related("organization", "organization__place").order_by("-starts_on", "organization__name")


def support_summary(qs: QuerySet[SupportRecord]) -> dict[str, Any]:
    """Count, amount and public-welfare posts of a support list, by kind (one query)."""
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in qs.order_by().values("kind").annotate(n=Count("id"), amount=Sum("amount"), posts=Sum("quantity"))
    ]
    empty: dict[str, Any] = {}
    by_kind: dict[str, dict[str, Any]] = {r["kind"]: r for r in rows}
    return {
        "by_kind": [
            {
                "kind": k,
                "label": label,
                "n": by_kind.get(k, empty).get("n", 0),
                "amount": by_kind.get(k, empty).get("amount") or Decimal(0),
            }
            for k, label in SupportKind.choices
        ],
        "records": sum(r["n"] for r in rows),
        "amount": sum((r["amount"] or Decimal(0) for r in rows), Decimal(0)),
        "posts": (by_kind.get(SupportKind.POST, empty).get("posts") or 0),
    }


def support_record_get(*, user: Any, organization: Organization, record_id: Any) -> SupportRecord:
    record = _get(SupportRecord.objects.filter(organization=organization), record_id)
    if record is None or not user.has_perm("organizations.view_cultivation", organization):
        raise NotFound(_("找不到该扶持记录"))
    return record


def supply_items_of(*, user: Any, organization: Organization, include_inactive: bool = True) -> QuerySet[SupplyItem]:
    if not user.has_perm("organizations.view_cultivation", organization):
        raise NotFound(_("找不到该组织"))
    qs = SupplyItem.objects.filter(organization=organization)
    if not include_inactive:
        qs = qs.filter(active=True)
    return qs.order_by("-active", "title")


def supply_item_get(*, user: Any, item_id: Any) -> SupplyItem:
    item = _get(SupplyItem.objects.select_related("organization", "organization__place"), item_id)
    if item is None or not user.has_perm("organizations.view_cultivation", item.organization):
        raise NotFound(_("找不到该服务项目"))
    return item


def supply_items_visible(*, user: Any, place: Place | None = None, search: str = "") -> QuerySet[SupplyItem]:
    """The supply list (供给清单) of the place: active items of active organisations the user covers."""
    qs = SupplyItem.objects.filter(
        _staff_q("organization__place__code", user, place),
        active=True,
        organization__status=OrganizationStatus.ACTIVE,
    )
    search = (search or "").strip()
    if search:
        qs = qs.filter(
            Q(title__contains=search)
            | Q(description__contains=search)
            | Q(audience__contains=search)
            | Q(organization__name__contains=search)
        )
    return qs.select_related("organization", "organization__place").order_by("organization__place_id", "title")


# --- stage board --------------------------------------------------------------------------------------------------


def _orgs_under(user: Any, place: Place, kind: str = "") -> QuerySet[Organization]:
    qs = Organization.objects.filter(_staff_q("place__code", user, place))
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def _existing_on(qs: QuerySet[Organization], on: datetime.date) -> QuerySet[Organization]:
    """Organisations that existed on the date (founded by then, not yet dissolved; never proposals)."""
    return qs.filter(status__in=[OrganizationStatus.ACTIVE, OrganizationStatus.DISSOLVED]).filter(
        Q(founded_on__isnull=True) | Q(founded_on__lte=on), Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=on)
    )


def stage_counts(*, user: Any, place: Place, on: datetime.date | None = None, kind: str = "") -> dict[str, int]:
    """How many organisations sit at each stage: now (active ones, one query), or on a past date (from the stage
    history, ``selectors.stages_on``)."""
    counts = {stage: 0 for stage in OrganizationStage.values}
    today = timezone.localdate()
    qs = _orgs_under(user, place, kind)
    if on is None or on >= today:
        rows = qs.filter(status=OrganizationStatus.ACTIVE).order_by().values("stage").annotate(n=Count("id"))
        for r in rows:
            counts[r["stage"]] = r["n"]
        return counts
    ids = list(_existing_on(qs, on).values_list("pk", flat=True))
    for stage in stages_on(ids, on).values():
        if stage is not None:
            counts[stage] += 1
    return counts


def stage_board_organizations(
    *, user: Any, place: Place, stage: str, on: datetime.date | None = None, kind: str = ""
) -> list[Organization]:
    """The drill-down of one stage column (at most 500, by place and name)."""
    today = timezone.localdate()
    qs = _orgs_under(user, place, kind).select_related("place").order_by("place_id", "name")
    if on is None or on >= today:
        return list(qs.filter(status=OrganizationStatus.ACTIVE, stage=stage)[:500])
    existing = list(_existing_on(qs, on))
    stages = stages_on([o.pk for o in existing], on)
    return [o for o in existing if stages.get(o.pk) == stage][:500]


def _moves(user: Any, place: Place, year: int, kind: str) -> QuerySet[StageChange]:
    qs = StageChange.objects.filter(
        _staff_q("organization__place__code", user, place),
        changed_on__gte=datetime.date(year, 1, 1),
        changed_on__lte=datetime.date(year, 12, 31),
    )
    if kind:
        qs = qs.filter(organization__kind=kind)
    return qs


@dataclass
class Move:
    from_stage: str
    to_stage: str
    n: int

    @property
    def upward(self) -> bool:
        order = OrganizationStage.values
        return bool(self.from_stage) and order.index(self.to_stage) > order.index(self.from_stage)

    @property
    def from_label(self) -> str:
        return str(dict(OrganizationStage.choices).get(self.from_stage, _("新登记")))

    @property
    def to_label(self) -> str:
        return str(dict(OrganizationStage.choices).get(self.to_stage, self.to_stage))


def stage_moves(*, user: Any, place: Place, year: int, kind: str = "") -> list[Move]:
    """How organisations moved in the year: ``from → to`` counts of the stage changes dated in it (a founding record
    has no ``from``). One query."""
    rows = (
        _moves(user, place, year, kind)
        .order_by()
        .values("from_stage", "to_stage")
        .annotate(n=Count("id"))
        .order_by("from_stage", "to_stage")
    )
    order = {s: i for i, s in enumerate(["", *OrganizationStage.values])}
    moves = [Move(r["from_stage"], r["to_stage"], r["n"]) for r in rows]
    return sorted(moves, key=lambda m: (order.get(m.from_stage, 99), order.get(m.to_stage, 99)))


def stage_moves_list(
    *, user: Any, place: Place, year: int, from_stage: str | None, to_stage: str | None, kind: str = ""
) -> QuerySet[StageChange]:
    qs = _moves(user, place, year, kind)
    if from_stage is not None:
        qs = qs.filter(from_stage=from_stage)
    if to_stage:
        qs = qs.filter(to_stage=to_stage)
    return qs.select_related("organization", "organization__place", "decided_by").order_by(
        "-changed_on", "organization__name"
    )


def stage_years(*, user: Any, place: Place) -> list[int]:
    """The years in which stage changes were recorded under the place (newest first), and this year."""
    dates = (
        StageChange.objects.filter(_staff_q("organization__place__code", user, place))
        .dates("changed_on", "year", order="DESC")
        .distinct()
    )
    years = {d.year for d in dates} | {timezone.localdate().year}
    return sorted(years, reverse=True)


# --- schemes and rounds -------------------------------------------------------------------------------------------


def schemes_visible(*, user: Any, place: Place | None = None) -> QuerySet[AssessmentScheme]:
    return (
        AssessmentScheme.objects.filter(_staff_q("place__code", user, place))
        .select_related("place")
        .annotate(round_count=Count("rounds"))
        .order_by("-year", "place_id", "name", "-version")
    )


def scheme_get(*, user: Any, scheme_id: Any) -> AssessmentScheme:
    scheme = _get(
        AssessmentScheme.objects.select_related("place", "created_by").annotate(round_count=Count("rounds")),
        scheme_id,
    )
    if scheme is None or not user.has_perm("organizations.manage_assessment", scheme):
        raise NotFound(_("找不到该评估方案"))
    return scheme


def rounds_visible(*, user: Any, place: Place | None = None, status: str = "") -> QuerySet[AssessmentRound]:
    qs = AssessmentRound.objects.filter(_staff_q("place__code", user, place))
    if status:
        qs = qs.filter(status=status)
    return (
        qs.select_related("place", "scheme")
        .annotate(entry_count=Count("entries", distinct=True), assessor_count=Count("assessors", distinct=True))
        .order_by("-created_at")
    )


def round_get(*, user: Any, round_id: Any) -> AssessmentRound:
    """A round the user manages (staff covering its place) or assesses; any other is not found."""
    rnd = _get(AssessmentRound.objects.select_related("place", "scheme"), round_id)
    if rnd is None or not user.has_perm("organizations.view_assessmentround", rnd):
        raise NotFound(_("找不到该评估评选"))
    return rnd


def round_entries(*, round: AssessmentRound) -> list[RoundEntry]:
    """The entries of a round, by category then rank (then name while open), with their scores and assessors
    (three queries whatever the size)."""
    scores = AssessmentScore.objects.select_related("assessor").order_by("created_at")
    entries = list(
        RoundEntry.objects.filter(round=round)
        .select_related("organization", "organization__place", "replied_by")
        .prefetch_related(Prefetch("scores", queryset=scores))
    )
    order = {c: i for i, c in enumerate(round.quotas or {})}
    entries.sort(key=lambda e: (order.get(e.category, 99), e.category, e.rank or 10**9, e.organization.name, str(e.pk)))
    return entries


def round_assessors(*, round: AssessmentRound) -> list[Any]:
    return list(round.assessors.order_by("display_name", "phone"))


def entry_get(*, user: Any, entry_id: Any) -> RoundEntry:
    entry = _get(
        RoundEntry.objects.select_related(
            "round", "round__place", "round__scheme", "organization", "organization__place"
        ),
        entry_id,
    )
    if entry is None or not user.has_perm("organizations.view_roundentry", entry):
        raise NotFound(_("找不到该参评记录"))
    return entry


def conflicted_organization_ids(*, user: Any, organization_ids: Iterable[Any], year: int) -> set[Any]:
    """The organisations (of these) the user leads or belongs to, through their resident profile: a membership that
    is current, or that ended on or after 1 January of the assessment year. One query."""
    ids = list(organization_ids)
    if not ids or not getattr(user, "is_authenticated", False):
        return set()
    return set(
        Membership.objects.filter(resident__user_id=user.pk, organization_id__in=ids)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=datetime.date(year, 1, 1)))
        .values_list("organization_id", flat=True)
    )


@dataclass
class Task:
    entry: RoundEntry
    mine: AssessmentScore | None
    conflicted: bool


@dataclass
class RoundTasks:
    round: AssessmentRound
    tasks: list[Task]

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t.mine is not None)

    @property
    def todo(self) -> int:
        return sum(1 for t in self.tasks if t.mine is None and not t.conflicted)


def assessment_tasks(*, user: Any, include_closed: bool = False) -> list[RoundTasks]:
    """The rounds the user assesses (open ones; with ``include_closed`` the others too), each with its entries, the
    user's own scores and the entries they may not assess. Four queries."""
    ids = assessor_round_ids(user)
    if not ids:
        return []
    rounds_qs = AssessmentRound.objects.filter(pk__in=ids).select_related("place", "scheme").order_by("-created_at")
    if not include_closed:
        rounds_qs = rounds_qs.filter(status=RoundStatus.OPEN)
    rounds = list(rounds_qs)
    if not rounds:
        return []
    entries = list(
        RoundEntry.objects.filter(round__in=rounds)
        .select_related("organization", "organization__place")
        .order_by("category", "organization__name")
    )
    mine = {s.entry_id: s for s in AssessmentScore.objects.filter(entry__in=entries, assessor_id=user.pk).order_by()}
    conflicts: set[Any] = set()
    for year in {r.scheme.year for r in rounds}:
        conflicts |= {
            (year, o)
            for o in conflicted_organization_ids(
                user=user, organization_ids={e.organization_id for e in entries}, year=year
            )
        }
    by_round: dict[Any, list[Task]] = {r.pk: [] for r in rounds}
    year_of = {r.pk: r.scheme.year for r in rounds}
    for e in entries:
        by_round[e.round_id].append(
            Task(entry=e, mine=mine.get(e.pk), conflicted=(year_of[e.round_id], e.organization_id) in conflicts)
        )
    return [RoundTasks(round=r, tasks=by_round[r.pk]) for r in rounds]


def my_score(*, user: Any, entry: RoundEntry) -> AssessmentScore | None:
    return AssessmentScore.objects.filter(entry=entry, assessor_id=_uid(user)).first()


def entries_of_organization(*, user: Any, organization: Organization) -> QuerySet[RoundEntry]:
    """The organisation's round entries, newest round first (its leader and covering staff)."""
    if not user.has_perm("organizations.view_cultivation", organization):
        raise NotFound(_("找不到该组织"))
    return (
        RoundEntry.objects.filter(organization=organization)
        .select_related("round", "round__place", "round__scheme", "replied_by")
        .annotate(score_count=Count("scores"))
        .order_by("-round__created_at")
    )


def warnings_to_answer(*, user: Any) -> QuerySet[RoundEntry]:
    """Last-place warnings of the organisations the user leads that can still be answered (round closed, not yet
    published)."""
    from ..rules import led_organization_ids

    return (
        RoundEntry.objects.filter(
            organization_id__in=led_organization_ids(user),
            outcome=RoundEntry.Outcome.WARNED,
            round__status=RoundStatus.CLOSED,
        )
        .select_related("round", "organization")
        .order_by("-round__created_at")
    )


# --- the published selection (no login, nothing personal) --------------------------------------------------------


def public_rounds() -> QuerySet[AssessmentRound]:
    return (
        AssessmentRound.objects.filter(status=RoundStatus.PUBLISHED)
        .select_related("place", "scheme")
        .annotate(selected_count=Count("entries", filter=Q(entries__outcome=RoundEntry.Outcome.SELECTED)))
        .order_by("-published_at")
    )


@dataclass
class PublicCategory:
    code: str
    label: str
    quota: int
    selected: list[RoundEntry]


def public_round(*, round_id: Any) -> tuple[AssessmentRound, list[PublicCategory]]:
    """A published round and its selected organisations per category, in rank order. Two queries."""
    rnd = _get(AssessmentRound.objects.filter(status=RoundStatus.PUBLISHED).select_related("place", "scheme"), round_id)
    if rnd is None:
        raise NotFound(_("找不到该评选结果"))
    selected = (
        RoundEntry.objects.filter(round=rnd, outcome=RoundEntry.Outcome.SELECTED)
        .select_related("organization", "organization__place")
        .order_by("category", "rank")
    )
    groups: dict[str, list[RoundEntry]] = {}
    for e in selected:
        groups.setdefault(e.category, []).append(e)
    return rnd, [
        PublicCategory(code, selection.category_label(code), int(quota), groups.get(code, []))
        for code, quota in (rnd.quotas or {}).items()
    ]
