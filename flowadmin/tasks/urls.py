from django.urls import path

from flowadmin.tasks import views

app_name = "tasks"
urlpatterns = [
    path("tasks/", views.overview, name="overview"),
]
