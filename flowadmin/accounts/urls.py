"""Logging in and out, and single sign-on (``sso/callback/`` is the redirect URI to register at the provider)."""

from django.urls import path

from flowadmin.accounts import views
from flowadmin.accounts.sso import views as sso

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("sso/start/", sso.SignInStart.as_view(), name="sso_start"),
    path("sso/callback/", sso.SignInCallback.as_view(), name="sso_callback"),
    path("sso/no-role/", sso.no_role, name="sso_no_role"),
]
