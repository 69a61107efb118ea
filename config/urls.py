from django.urls import include, path

from config.api import api

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("", include("gongzhi.web.urls")),
    path("", include("gongzhi.organizations.urls")),
    path("", include("gongzhi.resources.urls")),
    path("", include("gongzhi.activities.urls")),
    path("", include("gongzhi.learning.urls")),
    path("", include("gongzhi.deliberation.urls")),
    path("", include("gongzhi.analytics.urls")),
]
