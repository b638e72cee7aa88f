from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from flowadmin import views
from flowadmin.ops import views as ops_views

handler400 = "flowadmin.views.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("accounts/", include("flowadmin.accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("flowadmin.catalog.urls")),
    path("", include("flowadmin.changes.urls")),
    path("", include("flowadmin.rollouts.urls")),
    path("", include("flowadmin.onboarding.urls")),
    path("", include("flowadmin.audit.urls")),
    path("", include("flowadmin.policy.urls")),
    path("", include("flowadmin.tasks.urls")),
]
# Under DEBUG=false only with FLOWADMIN_EMULATOR_PUBLIC (see settings): never by accident.
if settings.FLOWADMIN_EMULATOR_MOUNTED:
    urlpatterns.append(path("emulator/", include("flowadmin.emulator.urls")))
