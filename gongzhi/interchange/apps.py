from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class InterchangeConfig(AppConfig):
    name = "gongzhi.interchange"
    label = "interchange"
    verbose_name = _("数据交换")

    def ready(self) -> None:
        # Every app declares its interchange files in <app>/interchange.py (see gongzhi.core.interchange).
        autodiscover_modules("interchange")
