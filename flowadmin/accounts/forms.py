"""The login form: Django's, plus the sentence an authentication backend gave for refusing a login."""

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from flowadmin.accounts.backends import REFUSAL_ATTRIBUTE


class LoginForm(AuthenticationForm):
    refusal = ""

    def get_invalid_login_error(self):
        self.refusal = getattr(self.request, REFUSAL_ATTRIBUTE, "") if self.request is not None else ""
        if self.refusal:
            return ValidationError(self.refusal, code="refused")
        return super().get_invalid_login_error()
