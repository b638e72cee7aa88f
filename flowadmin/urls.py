from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from flowadmin import views

handler400 = "flowadmin.views.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("flowadmin.accounts.urls")),
    path("admin/", admin.site.urls),
    path("", include("flowadmin.catalog.urls")),
    path("", include("flowadmin.changes.urls")),
    path("", include("flowadmin.rollouts.urls")),
    path("", include("flowadmin.audit.urls")),
]
if settings.FLOWADMIN_EMULATOR:
    urlpatterns.append(path("emulator/", include("flowadmin.emulator.urls")))
