"""Reactions to attendance (registered in ``LearningConfig.ready``): presence at a course session or a learning
meeting earns points, once per attendance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gongzhi.activities.models import ActivityKind

if TYPE_CHECKING:
    from gongzhi.activities.models import Attendance

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
