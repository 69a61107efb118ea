"""Reactions to attendance and to volunteer hours (registered in ``LearningConfig.ready``): presence at a course
session or a learning meeting earns points, once per attendance; confirmed volunteer hours earn the ``volunteer_hour``
points, once per ledger entry. Presence at a volunteer event earns no presence points (the kind is not in
``RULE_FOR_KIND``): its hours are what earn points."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from gongzhi.activities.models import ActivityKind

if TYPE_CHECKING:
    from gongzhi.activities.models import Attendance, VolunteerHours

RULE_FOR_KIND = {
    ActivityKind.COURSE_SESSION: "attend_course_session",
    ActivityKind.LEARNING_MEETING: "attend_learning_meeting",
}


def award_points_for_presence(attendance: Attendance, actor: Any) -> None:
    rule_code = RULE_FOR_KIND.get(attendance.activity.kind)  # type: ignore[call-overload]
    if rule_code is None:
        return
    from .services import points_award

    points_award(
        resident=attendance.resident,
        rule_code=rule_code,
        source_type="attendance",
        source_id=str(attendance.pk),
        reason=attendance.activity.title,
        actor=actor,
        savepoint=False,  # inside attendance_record's transaction: the attendance and its points commit or fail together
    )


# --- 育 volunteer hours → points -----------------------------------------------------------------------------------

VOLUNTEER_RULE = "volunteer_hour"
VOLUNTEER_SOURCE = "volunteer_hours"


def _points_per_hour() -> int:
    from .defaults import DEFAULT_RULES
    from .models import PointsRule

    found = PointsRule.objects.filter(code=VOLUNTEER_RULE).values_list("points", flat=True).first()
    return found if found is not None else DEFAULT_RULES[VOLUNTEER_RULE][1]


def _quantity_rounded_down(hours: Decimal) -> Decimal:
    """The number of hours to award so that points = rule points × hours, rounded down (5 points an hour: 1.5 hours
    earn 7, not 8; ``points_award`` itself rounds half up)."""
    per_hour = _points_per_hour()
    if per_hour <= 0 or hours <= 0:
        return Decimal(0)
    points = int((Decimal(per_hour) * hours).to_integral_value(rounding=ROUND_FLOOR))
    return Decimal(points) / Decimal(per_hour)


def award_points_for_volunteer_hours(entry: VolunteerHours, net_hours: Decimal, actor: Any) -> None:
    """Confirmed hours earn the ``volunteer_hour`` rule's points, once per ledger entry (source ``volunteer_hours``,
    the entry's id). A correction of a confirmed entry reverses the points of that entry and, when hours remain,
    awards them again with the correction as the source."""
    from .models import PointsEntry
    from .services import points_award, points_reverse

    reason = entry.activity.title if entry.activity_id and entry.activity else entry.organization.name
    if entry.reversal_of_id is not None:
        award = (
            PointsEntry.objects.filter(
                resident_id=entry.resident_id,
                source_type=VOLUNTEER_SOURCE,
                source_id=str(entry.reversal_of_id),
                reversal_of__isnull=True,
                reversed_by__isnull=True,
            )
            .select_related("resident")
            .order_by()
            .first()
        )
        if award is not None:
            points_reverse(entry=award, reason=f"志愿服务时长更正：{entry.note}"[:300], actor=actor)
    quantity = _quantity_rounded_down(net_hours)
    if quantity <= 0:
        return
    points_award(
        resident=entry.resident,
        rule_code=VOLUNTEER_RULE,
        source_type=VOLUNTEER_SOURCE,
        source_id=str(entry.pk),
        reason=reason,
        actor=actor,
        quantity=quantity,
        savepoint=False,  # inside the confirmation's transaction: the confirmation and its points commit together
    )
