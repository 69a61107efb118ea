"""The declared points rules. The data migration seeds them; ``points_award`` restores a missing one from here (a
database flushed by tests, a new install before migrations ran data) so that a check-in never fails for want of a rule.
Staff switch a rule off with ``active``; they do not delete it."""

from __future__ import annotations

# code → (name, points, daily cap per resident, description)
DEFAULT_RULES: dict[str, tuple[str, int, int | None, str]] = {
    "attend_course_session": ("参加课程", 10, 30, "按时出席一次课程"),
    "attend_learning_meeting": ("参加学习共同体活动", 5, 20, "出席一次学习共同体活动"),
    "pass_test": ("通过测试", 20, None, "通过一次课程测试"),
    "volunteer_hour": (
        "志愿服务（每小时）",
        5,
        None,
        "经他人确认的志愿服务，每小时计分（不设每日上限：常一次确认多日的时长）",
    ),
    "adopted_proposal": ("建议被采纳", 30, None, "提出的议题或建议被采纳"),
}
