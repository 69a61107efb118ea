"""Reads of credential programmes: which programmes a user sees, a resident's eligibility and progress.

Each selector takes the acting user (or the resident acting). A resident's progress over all their programmes runs a
constant number of queries whatever the number of programmes, levels and events (facts are read once, set-based).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.people.models import Resident
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import (
    Certificate,
    CertificateStatus,
    Course,
    CredentialLevel,
    CredentialProgramme,
    OnlineTest,
    ProgrammeStatus,
    Series,
)
from . import criteria as crit
from .facts import facts_for
from .programmes import place_scope_q


def _today(today: datetime.date | None) -> datetime.date:
    return today or timezone.localdate()


def _now_for(today: datetime.date | None) -> datetime.datetime | None:
    """The moment "sessions held so far" is counted at: now, or the end of ``today`` when evaluating an earlier day."""
    if today is None or today >= timezone.localdate():
        return None
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min)
    return timezone.make_aware(end) - datetime.timedelta(microseconds=1)


def _chain(code: str) -> list[str]:
    return [*codes.ancestor_codes(code), code]


def _count(qs: QuerySet[Any], key: str) -> Coalesce:
    counted = qs.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _annotated(qs: QuerySet[CredentialProgramme]) -> QuerySet[CredentialProgramme]:
    return qs.select_related("place", "series").annotate(
        level_count=_count(CredentialLevel.objects.filter(programme=OuterRef("pk")), "programme_id"),
        certificate_count=_count(
            Certificate.objects.filter(programme=OuterRef("pk"), status=CertificateStatus.VALID), "programme_id"
        ),
    )


# --- programmes -------------------------------------------------------------------------------------------------


def _staff_q(user: Any) -> Q:
    """Programmes of the places a staff user covers, and of the places above the places they work on."""
    allowed = access.prefixes(user, access.STAFF_ROLES)
    if allowed is None:
        return Q()
    if not allowed:
        return Q(pk__in=[])
    above = sorted({c for g in access.user_grants(user) if g.role in access.STAFF_ROLES for c in _chain(g.place_code)})
    return access.prefix_q("place__code", user, access.STAFF_ROLES) | Q(place_id__in=above)


def programmes_visible(*, user: Any, place: Place | None = None, status: str = "") -> QuerySet[CredentialProgramme]:
    """Staff: the programmes of the places they cover and of the places above them (under or above ``place`` when
    given), with ``level_count`` and ``certificate_count`` (valid) annotated. Others: none."""
    if not access.is_staff(user):
        return CredentialProgramme.objects.none()
    qs = CredentialProgramme.objects.filter(_staff_q(user))
    if place is not None:
        qs = qs.filter(place_scope_q(place.code))
    if status in ProgrammeStatus.values:
        qs = qs.filter(status=status)
    return _annotated(qs).order_by("place_id", "name")


def programmes_for_resident(*, resident: Resident) -> QuerySet[CredentialProgramme]:
    """The active programmes of a resident's place chain (community, street, district, city, province)."""
    return (
        _annotated(
            CredentialProgramme.objects.filter(
                place_id__in=_chain(resident.community_id), status=ProgrammeStatus.ACTIVE
            )
        )
        .prefetch_related(Prefetch("levels", queryset=CredentialLevel.objects.order_by("rank")))
        .order_by("place_id", "name")
    )


def programme_get(*, user: Any, programme_id: Any) -> CredentialProgramme:
    """A programme the user may see (``learning.view_credentialprogramme``); any other does not exist for them."""
    try:
        programme = _annotated(CredentialProgramme.objects.filter(pk=programme_id)).first()
    except (ValueError, ValidationError):
        programme = None
    if programme is None or not user.has_perm("learning.view_credentialprogramme", programme):
        raise NotFound(_("找不到该认证项目"))
    return programme


def programme_levels(*, programme: CredentialProgramme) -> list[CredentialLevel]:
    """The levels in rank order, with ``certificate_count`` (valid) and ``issued_count`` (all) annotated."""
    return list(
        CredentialLevel.objects.filter(programme=programme)
        .annotate(
            certificate_count=_count(
                Certificate.objects.filter(level=OuterRef("pk"), status=CertificateStatus.VALID), "level_id"
            ),
            issued_count=_count(Certificate.objects.filter(level=OuterRef("pk")), "level_id"),
        )
        .order_by("rank")
    )


def level_get(*, user: Any, level_id: Any) -> CredentialLevel:
    try:
        level = CredentialLevel.objects.select_related("programme", "programme__place").filter(pk=level_id).first()
    except (ValueError, ValidationError):
        level = None
    if level is None or not user.has_perm("learning.view_credentialprogramme", level.programme):
        raise NotFound(_("找不到该认证级别"))
    return level


@dataclass
class CriteriaChoices:
    """What a programme's criteria may name: series, courses and tests of its place (subtree and above)."""

    series: list[Series]
    courses: list[Course]
    tests: list[OnlineTest]


def criteria_choices(*, programme: CredentialProgramme) -> CriteriaChoices:
    scope = place_scope_q(programme.place_id)
    return CriteriaChoices(
        series=list(Series.objects.filter(scope).order_by("place_id", "name")[:500]),
        courses=list(Course.objects.filter(scope).order_by("place_id", "title")[:500]),
        tests=list(OnlineTest.objects.filter(scope).order_by("place_id", "title")[:500]),
    )


def criteria_names(trees: Iterable[Any], levels: Iterable[CredentialLevel] = ()) -> dict[str, str]:
    """Names for the labels of criteria trees: {id: name} for the series, courses and tests they name, and
    {"level:<rank>": name} for ``levels``. At most three queries (one per kind named)."""
    refs: dict[str, set[str]] = {"series": set(), "course": set(), "test": set()}
    for tree in trees:
        for key, values in crit.references(tree).items():
            if key in refs:
                refs[key] |= values
    names: dict[str, str] = {}
    if refs["series"]:
        names.update((str(pk), n) for pk, n in Series.objects.filter(pk__in=refs["series"]).values_list("pk", "name"))
    if refs["course"]:
        names.update((str(pk), n) for pk, n in Course.objects.filter(pk__in=refs["course"]).values_list("pk", "title"))
    if refs["test"]:
        names.update(
            (str(pk), n) for pk, n in OnlineTest.objects.filter(pk__in=refs["test"]).values_list("pk", "title")
        )
    names.update((f"level:{level.rank}", level.name) for level in levels)
    return names


def level_outline(*, levels: list[CredentialLevel]) -> dict[Any, crit.NodeResult]:
    """The labelled criteria tree of each level (by level id), for display."""
    names = criteria_names([level.criteria for level in levels], levels)
    return {level.pk: crit.describe(level.criteria, names) for level in levels}


# --- eligibility and progress -----------------------------------------------------------------------------------


def level_eligibility(
    *, resident: Resident, level: CredentialLevel, today: datetime.date | None = None
) -> crit.Evaluation:
    """Whether a resident meets a level's criteria today (with what is met and what is missing)."""
    programme = level.programme
    facts = facts_for([resident.pk], programme, now=_now_for(today))[resident.pk]
    levels = list(CredentialLevel.objects.filter(programme_id=level.programme_id).only("rank", "name"))
    names = criteria_names([level.criteria], levels)
    return crit.evaluate(level.criteria, facts, _today(today), names=names)


@dataclass
class LevelProgress:
    level: CredentialLevel
    evaluation: crit.Evaluation
    certificate: Certificate | None  # the level's certificate in status valid (possibly past its expiry date)
    is_next: bool = False
    today: datetime.date | None = None

    @property
    def expired(self) -> bool:
        c = self.certificate
        return bool(c is not None and c.expires_on is not None and self.today and c.expires_on < self.today)

    @property
    def held(self) -> bool:
        return self.certificate is not None and not self.expired

    @property
    def claimable(self) -> bool:
        """Eligible, and no certificate of the level in status valid (a claim would issue one)."""
        return (
            self.evaluation.met and self.certificate is None and self.level.programme.status == ProgrammeStatus.ACTIVE
        )


@dataclass
class ProgrammeProgress:
    programme: CredentialProgramme
    levels: list[LevelProgress] = field(default_factory=list)

    @property
    def next_level(self) -> LevelProgress | None:
        return next((lp for lp in self.levels if lp.is_next), None)

    @property
    def held_rank(self) -> int:
        return max((lp.level.rank for lp in self.levels if lp.held), default=0)


def can_see_resident(*, user: Any, resident: Resident) -> bool:
    """The resident themselves, or staff covering their community."""
    if getattr(user, "is_authenticated", False) and resident.user_id is not None and resident.user_id == user.pk:
        return True
    return access.has_role_covering(user, resident.community_id, access.STAFF_ROLES)


def _progress(
    resident: Resident, programmes: list[CredentialProgramme], today: datetime.date
) -> list[ProgrammeProgress]:
    if not programmes:
        return []
    levels_of = {p.pk: sorted(p.levels.all(), key=lambda lv: lv.rank) for p in programmes}
    facts = facts_for([resident.pk], now=_now_for(today))[resident.pk]
    certificates = {
        c.level_id: c
        for c in Certificate.objects.filter(
            resident=resident, status=CertificateStatus.VALID, programme_id__in=[p.pk for p in programmes]
        ).order_by("issued_on")
    }
    all_levels = [lv for lvs in levels_of.values() for lv in lvs]
    names = criteria_names([lv.criteria for lv in all_levels])
    out: list[ProgrammeProgress] = []
    for programme in programmes:
        mine = facts.for_programme(programme.pk)
        level_names = {**names, **{f"level:{lv.rank}": lv.name for lv in levels_of[programme.pk]}}
        progress = ProgrammeProgress(programme=programme)
        for level in levels_of[programme.pk]:
            level.programme = programme  # already at hand: no look-up for ``claimable``
            progress.levels.append(
                LevelProgress(
                    level=level,
                    evaluation=crit.evaluate(level.criteria, mine, today, names=level_names),
                    certificate=certificates.get(level.pk),
                    today=today,
                )
            )
        upcoming = next((lp for lp in progress.levels if not lp.held), None)
        if upcoming is not None:
            upcoming.is_next = True
        out.append(progress)
    return out


def programme_progress(
    *, user: Any, resident: Resident, programme: CredentialProgramme, today: datetime.date | None = None
) -> list[LevelProgress]:
    """Each level of a programme with the resident's evaluation and certificate; the lowest level not held is
    marked ``is_next``. For the resident themselves or staff covering their community."""
    if not can_see_resident(user=user, resident=resident) or not user.has_perm(
        "learning.view_credentialprogramme", programme
    ):
        raise NotFound(_("找不到该认证项目"))
    programme = (
        CredentialProgramme.objects.filter(pk=programme.pk)
        .prefetch_related(Prefetch("levels", queryset=CredentialLevel.objects.order_by("rank")))
        .get()
    )
    return _progress(resident, [programme], _today(today))[0].levels


def resident_progress(*, user: Any, resident: Resident, today: datetime.date | None = None) -> list[ProgrammeProgress]:
    """The resident's progress in every active programme of their place chain. A constant number of queries."""
    if not can_see_resident(user=user, resident=resident):
        raise NotFound(_("找不到该居民"))
    return _progress(resident, list(programmes_for_resident(resident=resident)), _today(today))
