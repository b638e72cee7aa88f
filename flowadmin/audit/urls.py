from django.urls import path

from flowadmin.audit import views

app_name = "audit"
urlpatterns = [
    path("audit/", views.index, name="index"),
    path("audit/<int:seq>/", views.event, name="event"),
    path("audit/export.csv", views.export_csv, name="export_csv"),
    path("audit/export.jsonl", views.export_jsonl, name="export_jsonl"),
    path("api/audit/", views.api, name="api"),
]
