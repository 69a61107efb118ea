from .views import needs, providers, spaces, surveys

urlpatterns = [*providers.urlpatterns, *needs.urlpatterns, *spaces.urlpatterns, *surveys.urlpatterns]
