"""Single sign-on over OpenID Connect (mozilla-django-oidc), on while settings.OIDC_ISSUER is set.

discovery   the provider's endpoints, read from its discovery document and kept for an hour
errors      why a sign-in was refused: exceptions whose messages are module constants
services    sso_user_sync: the account of a verified sign-in, found by its subject, and its roles
backend     SingleSignOnBackend: the code flow with PKCE, state, nonce and a verified ID token
views       start, callback, the "no role" page and the provider's logout URL
"""
