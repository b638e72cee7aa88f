"""``manage.py check --deploy``: single sign-on must talk to its provider over HTTPS."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

INSECURE_ISSUER = "OIDC_ISSUER is not an https:// URL: sign-ins and their tokens would cross the network unencrypted."


@checks.register(checks.Tags.security, deploy=True)
def sso_issuer_uses_https(app_configs=None, **kwargs):
    issuer = getattr(settings, "OIDC_ISSUER", "")
    if issuer and urlsplit(issuer).scheme != "https":
        return [checks.Warning(INSECURE_ISSUER, hint="Use the provider's https:// issuer URL.", id="flowadmin.W101")]
    return []
