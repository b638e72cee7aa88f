"""The project's URLs plus the floor: ``/bench/floor/``."""

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/floor/", views.floor, name="bench-floor"),
    path("", include("flowadmin.urls")),
]
