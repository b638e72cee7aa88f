from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from flowadmin import views
from flowadmin.accounts.forms import LoginForm
from flowadmin.ops import views as ops_views

handler400 = "flowadmin.views.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("flowadmin.catalog.urls")),
    path("", include("flowadmin.changes.urls")),
    path("", include("flowadmin.rollouts.urls")),
    path("", include("flowadmin.audit.urls")),
    path("", include("flowadmin.policy.urls")),
    path("", include("flowadmin.tasks.urls")),
]
# Under DEBUG=false only with FLOWADMIN_EMULATOR_PUBLIC (see settings): never by accident.
if settings.FLOWADMIN_EMULATOR_MOUNTED:
    urlpatterns.append(path("emulator/", include("flowadmin.emulator.urls")))
