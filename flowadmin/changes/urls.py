from django.urls import path

from flowadmin.changes import decision_views, views

app_name = "changes"
urlpatterns = [
    path("sandboxes/<str:sandbox>/flowspecs/<str:spec_id>/edit/", views.edit, name="edit"),
    path("sandboxes/<str:sandbox>/flowspecs/<str:spec_id>/preview/", views.preview_view, name="preview"),
    path("changes/", views.queue, name="queue"),
    path("changes/<int:pk>/", views.detail, name="detail"),
    path("changes/<int:pk>/check/", views.check, name="check"),
    path("changes/<int:pk>/impact/", views.impact, name="impact"),
    path("changes/<int:pk>/approve/", decision_views.approve, name="approve"),
    path("changes/<int:pk>/approve-rebased/", decision_views.approve_rebased, name="approve_rebased"),
    path("changes/<int:pk>/reject/", decision_views.reject, name="reject"),
    path("changes/<int:pk>/withdraw/", decision_views.withdraw, name="withdraw"),
    path("changes/<int:pk>/retry/", decision_views.retry, name="retry"),
    path("changes/<int:pk>/rebase/", decision_views.rebase, name="rebase"),
]
