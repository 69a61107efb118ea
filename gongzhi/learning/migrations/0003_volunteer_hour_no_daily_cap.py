"""Confirmed volunteer hours are checked by someone other than the volunteer, and a leader often confirms a month's
backlog in one sitting: a daily cap on the day of confirmation would silently drop points already earned. The
``volunteer_hour`` rule therefore has no daily cap (data migration; reversible)."""

from django.db import migrations


def drop_cap(apps, schema_editor):
    PointsRule = apps.get_model("learning", "PointsRule")
    PointsRule.objects.filter(code="volunteer_hour", daily_cap=40).update(daily_cap=None)


def restore_cap(apps, schema_editor):
    PointsRule = apps.get_model("learning", "PointsRule")
    PointsRule.objects.filter(code="volunteer_hour", daily_cap__isnull=True).update(daily_cap=40)


class Migration(migrations.Migration):
    dependencies = [("learning", "0002_default_points_rules")]

    operations = [migrations.RunPython(drop_cap, restore_cap)]
