"""The declared points rules (data): what earns points, how many, and the daily caps per resident."""

from django.db import migrations

RULES = [
    # code, name, points, daily cap, description
    ("attend_course_session", "参加课程", 10, 30, "按时出席一次课程"),
    ("attend_learning_meeting", "参加学习共同体活动", 5, 20, "出席一次学习共同体活动"),
    ("pass_test", "通过测试", 20, None, "通过一次课程测试"),
    ("volunteer_hour", "志愿服务（每小时）", 5, 40, "经核实的志愿服务，每小时计分"),
    ("adopted_proposal", "建议被采纳", 30, None, "提出的议题或建议被采纳"),
]


def add_rules(apps, schema_editor):
    PointsRule = apps.get_model("learning", "PointsRule")
    for code, name, points, cap, description in RULES:
        PointsRule.objects.get_or_create(
            code=code, defaults={"name": name, "points": points, "daily_cap": cap, "description": description}
        )


def remove_rules(apps, schema_editor):
    PointsRule = apps.get_model("learning", "PointsRule")
    PointsRule.objects.filter(code__in=[r[0] for r in RULES], entries__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("learning", "0001_initial")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
