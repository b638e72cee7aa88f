"""Logging in and out: the password form as LOCAL_LOGIN allows it, next to "Sign in with <provider>"."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from flowadmin.accounts.forms import LoginForm
from flowadmin.accounts.sso.views import provider_logout_url, provider_name, sign_in_error_pop

LOCAL_LOGIN_OFF = "Password login is switched off on this server: use “Sign in with {provider}”."


class LoginView(auth_views.LoginView):
    """Django's login view; with LOCAL_LOGIN=off it shows no form and refuses every password (403)."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm  # says why a backend refused (demo users under DEBUG=false)
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if settings.LOCAL_LOGIN == "off":
            refused = LOCAL_LOGIN_OFF.format(provider=provider_name())
            return self.render_to_response(self.get_context_data(refused=refused), status=403)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "sso_error": sign_in_error_pop(self.request)}


@require_POST
def logout(request):
    """Ends the flowadmin session; a session single sign-on made also ends at the provider when it can."""
    provider_url = provider_logout_url(request)
    auth.logout(request)
    return redirect(provider_url or settings.LOGOUT_REDIRECT_URL)
