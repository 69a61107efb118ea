"""The application's URLs plus ``/bench/bare`` (benchmark only)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("bench/bare", bare, name="bench_bare"), *app_urlpatterns]
