from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterchangeConfig(AppConfig):
    name = "gongzhi.interchange"
    label = "interchange"
    verbose_name = _("数据交换")
