"""System checks for production (`manage.py check --deploy`), ids ``flowadmin.E0xx``.

Each names a way the dashboard would run with what every copy of flowadmin shares: the development
key, the emulator's demo secret, the emulator itself with its public demo credentials and control
endpoints, the demo users and their public password, a /metrics endpoint open to all. Settings that
cannot be parsed are reported by every check run (not only --deploy).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from flowadmin.ops.proxy import networks

# The SECRET_KEY default under DEBUG (flowadmin/settings.py) and the placeholder of .env.example.
KNOWN_SECRET_KEYS = frozenset({"dev-only-insecure-key-change-me", "change-me-to-a-long-random-string"})
# The emulator's demo credentials (the settings' defaults while the emulator is on).
DEMO_CLIENT_SECRET = "flowadmin-demo-secret"  # noqa: S105 (public: what is checked against)
METRICS_TOKEN_MIN_LENGTH = 32


@register(Tags.security, deploy=True)
def secrets_check(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    if settings.SECRET_KEY in KNOWN_SECRET_KEYS:
        errors.append(
            Error(
                "SECRET_KEY is flowadmin's published development key: sessions, CSRF tokens and the "
                "emulator's access tokens can be forged by anyone.",
                hint="Set SECRET_KEY in the environment to a long random value (e.g. 50 characters from "
                '`python -c "import secrets; print(secrets.token_urlsafe(50))"`).',
                id="flowadmin.E001",
            )
        )
    if settings.ADOBE_CLIENT_SECRET == DEMO_CLIENT_SECRET:
        errors.append(
            Error(
                "ADOBE_CLIENT_SECRET is the embedded emulator's public demo secret.",
                hint="Set ADOBE_CLIENT_ID, ADOBE_CLIENT_SECRET and ADOBE_ORG_ID to the credentials of your "
                "Adobe Developer Console project, and PLATFORM_URL to Adobe's host.",
                id="flowadmin.E002",
            )
        )
    if settings.METRICS_TOKEN and len(settings.METRICS_TOKEN) < METRICS_TOKEN_MIN_LENGTH:
        errors.append(
            Error(
                f"METRICS_TOKEN is shorter than {METRICS_TOKEN_MIN_LENGTH} characters: it can be guessed.",
                hint="Use a long random value, or leave it unset and list the scrapers in METRICS_ALLOWED_IPS.",
                id="flowadmin.E005",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def emulator_check(app_configs=None, **kwargs) -> list[Error]:
    if settings.DEBUG or not settings.FLOWADMIN_EMULATOR:
        return []
    if settings.FLOWADMIN_EMULATOR_MOUNTED:
        message = (
            "FLOWADMIN_EMULATOR is on under DEBUG=false and FLOWADMIN_EMULATOR_PUBLIC serves it: anyone who "
            "can reach /emulator/ gets an access token with the public demo secret, changes its flow specs "
            "and uses its _faults and _log controls."
        )
    else:
        message = (
            "FLOWADMIN_EMULATOR is on under DEBUG=false: the emulator is not served (it would be open to "
            "anyone), so the dashboard has no Flow Service to talk to."
        )
    return [
        Error(
            message,
            hint="Unset FLOWADMIN_EMULATOR (and FLOWADMIN_EMULATOR_PUBLIC) and set PLATFORM_URL and the ADOBE_* "
            "credentials; keep the emulator for DEBUG=true, or a throw-away demo server on a private network.",
            id="flowadmin.E003",
        )
    ]


@register(Tags.security, deploy=True)
def demo_users_check(app_configs=None, **kwargs) -> list[Error]:
    from flowadmin.accounts.demo import demo_users_found

    try:
        found = demo_users_found()
    except DatabaseError:
        return []  # no database yet (or not migrated): no users either; `migrate` comes before going live
    if not found:
        return []
    return [
        Error(
            f"Demo users exist in this database: {', '.join(found)}. Their password is public (or they were "
            "made by seed_demo); under DEBUG=false they are refused at login, but they should not be here.",
            hint="Delete them in the Django admin (/admin/auth/user/) or with `python manage.py shell`, and give "
            "people accounts of their own.",
            id="flowadmin.E004",
        )
    ]


@register(Tags.security, deploy=True)
def metrics_check(app_configs=None, **kwargs) -> list[Error]:
    try:
        open_to_all = [net for net in networks(tuple(settings.METRICS_ALLOWED_IPS)) if net.prefixlen == 0]
    except ValueError:
        return []  # reported by addresses_check
    if not open_to_all:
        return []
    return [
        Error(
            f"METRICS_ALLOWED_IPS includes {open_to_all[0]}: /metrics is open to every address.",
            hint="List only the scrapers' addresses or networks, or use METRICS_TOKEN.",
            id="flowadmin.E006",
        )
    ]


@register()
def addresses_check(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for name in ("TRUSTED_PROXIES", "METRICS_ALLOWED_IPS"):
        try:
            networks(tuple(getattr(settings, name)))
        except ValueError as problem:
            errors.append(
                Error(
                    f"{name}: {problem}.",
                    hint="A comma-separated list of addresses or CIDR networks, e.g. 10.0.0.0/8,::1.",
                    id="flowadmin.E010",
                )
            )
    return errors
