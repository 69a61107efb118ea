from .views import decisions, issues, public

urlpatterns = [*issues.urlpatterns, *decisions.urlpatterns, *public.urlpatterns]
