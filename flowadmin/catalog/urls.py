from django.urls import path

from flowadmin.catalog import views

app_name = "catalog"
urlpatterns = [
    path("sandboxes/", views.sandboxes, name="sandboxes"),
    path("sandboxes/sync/", views.sync, name="sync"),
    path("sandboxes/sync/<int:pk>/", views.sync_run, name="sync_run"),
    path("sandboxes/<str:sandbox>/", views.sandbox, name="sandbox"),
    path("sandboxes/<str:sandbox>/sync/", views.sync, name="sandbox_sync"),
    path("sandboxes/<str:sandbox>/flowspecs/", views.flowspecs, name="flowspecs"),
    path("sandboxes/<str:sandbox>/flowspecs/<str:spec_id>/", views.flowspec, name="flowspec"),
]
