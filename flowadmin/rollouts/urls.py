from django.urls import path

from flowadmin.rollouts import views

app_name = "rollouts"
urlpatterns = [
    path("rollouts/", views.rollout_list, name="list"),
    path("rollouts/new/", views.new, name="new"),
    path("rollouts/new/preview/", views.preview_view, name="preview"),
    path("rollouts/<int:pk>/", views.detail, name="detail"),
    path("rollouts/<int:pk>/progress/", views.progress, name="progress"),
    path("rollouts/<int:pk>/approve/", views.approve, name="approve"),
    path("rollouts/<int:pk>/resume/", views.resume, name="resume"),
    path("rollouts/<int:pk>/reject/", views.reject, name="reject"),
    path("rollouts/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("rollouts/<int:pk>/steps/<int:position>/check/", views.check, name="check"),
    path("rollouts/<int:pk>/steps/<int:position>/rebase/", views.rebase, name="rebase"),
    path("flowspecs/<str:spec_id>/drift/", views.drift, name="drift"),
]
