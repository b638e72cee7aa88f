from django.urls import path

from flowadmin.changes import views

app_name = "changes"
urlpatterns = [
    path("sandboxes/<str:sandbox>/flowspecs/<str:spec_id>/edit/", views.edit, name="edit"),
    path("sandboxes/<str:sandbox>/flowspecs/<str:spec_id>/preview/", views.preview_view, name="preview"),
    path("changes/", views.queue, name="queue"),
    path("changes/<int:pk>/", views.detail, name="detail"),
    path("changes/<int:pk>/check/", views.check, name="check"),
    path("changes/<int:pk>/impact/", views.impact, name="impact"),
    path("changes/<int:pk>/approve/", views.approve, name="approve"),
    path("changes/<int:pk>/approve-rebased/", views.approve_rebased, name="approve_rebased"),
    path("changes/<int:pk>/reject/", views.reject, name="reject"),
    path("changes/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("changes/<int:pk>/retry/", views.retry, name="retry"),
    path("changes/<int:pk>/rebase/", views.rebase, name="rebase"),
]
