from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearningConfig(AppConfig):
    name = "gongzhi.learning"
    label = "learning"
    verbose_name = _("学习")

    def ready(self) -> None:
        from gongzhi.activities.hooks import register_hours_confirmed_handler, register_presence_handler

        from .handlers import award_points_for_presence, award_points_for_volunteer_hours

        register_presence_handler(award_points_for_presence)
        register_hours_confirmed_handler(award_points_for_volunteer_hours)
