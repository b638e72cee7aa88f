"""flowadmin settings: every value comes from the environment (django-environ), `.env` optional."""

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me" if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- The remote API ---------------------------------------------------------------------------
# The embedded emulator is on unless a real PLATFORM_URL is given; under production settings
# (DEBUG off) it only runs when FLOWADMIN_EMULATOR is set explicitly.
_platform_url = env.str("PLATFORM_URL", default="")
FLOWADMIN_EMULATOR = env.bool("FLOWADMIN_EMULATOR", default=DEBUG and not _platform_url)
FLOWADMIN_BASE_URL = env.str("FLOWADMIN_BASE_URL", default="http://127.0.0.1:8000")
_emulator_base = FLOWADMIN_BASE_URL.rstrip("/") + "/emulator"
PLATFORM_URL = (_platform_url or (_emulator_base if FLOWADMIN_EMULATOR else "https://platform.adobe.io")).rstrip("/")
IMS_URL = env.str("IMS_URL", default=_emulator_base if FLOWADMIN_EMULATOR and not _platform_url else "https://ims-na1.adobelogin.com").rstrip("/")

_demo = FLOWADMIN_EMULATOR and not _platform_url
ADOBE_CLIENT_ID = env.str("ADOBE_CLIENT_ID", default="flowadmin-demo-client" if _demo else "")
ADOBE_CLIENT_SECRET = env.str("ADOBE_CLIENT_SECRET", default="flowadmin-demo-secret" if _demo else "")
ADOBE_ORG_ID = env.str("ADOBE_ORG_ID", default="0123456789ABCDEF01234567@AdobeOrg" if _demo else "")
ADOBE_SCOPES = env.str(
    "ADOBE_SCOPES",
    default="openid,session,AdobeID,read_organizations,additional_info.projectedProductContext",
)
FLOWSERVICE_CONNECT_TIMEOUT = env.float("FLOWSERVICE_CONNECT_TIMEOUT", default=3.05)
FLOWSERVICE_READ_TIMEOUT = env.float("FLOWSERVICE_READ_TIMEOUT", default=30.0)
FLOWSERVICE_MAX_RETRIES = env.int("FLOWSERVICE_MAX_RETRIES", default=4)
FLOWSERVICE_BACKOFF = env.float("FLOWSERVICE_BACKOFF", default=0.5)
FLOWSERVICE_BACKOFF_MAX = env.float("FLOWSERVICE_BACKOFF_MAX", default=8.0)
FLOWADMIN_SANDBOXES = env.list("FLOWADMIN_SANDBOXES", default=[])
FLOWADMIN_SYNC_CONCURRENCY = env.int("FLOWADMIN_SYNC_CONCURRENCY", default=8)
# A sandbox being synced is claimed for at most this long (a crashed sync frees it after that).
FLOWADMIN_SYNC_LEASE_SECONDS = env.int("FLOWADMIN_SYNC_LEASE_SECONDS", default=600)
# A change request left "applying" longer than this is settled by reconcile_changes (younger ones may still be running).
FLOWADMIN_APPLY_GRACE_SECONDS = env.int("FLOWADMIN_APPLY_GRACE_SECONDS", default=60)
# The most connection spec ids one proposal may list (real flow specs carry tens to a few hundred):
# a longer list is refused at once, before any line is judged.
FLOWADMIN_MAX_IDS = max(1, env.int("FLOWADMIN_MAX_IDS", default=2000))
# Distinct approvers (never the author) a rollout needs before it applies a production sandbox.
FLOWADMIN_ROLLOUT_PROD_APPROVALS = max(1, env.int("FLOWADMIN_ROLLOUT_PROD_APPROVALS", default=2))

# --- Django ------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    "csp",
    "flowadmin.accounts",
    "flowadmin.audit",
    "flowadmin.catalog",
    "flowadmin.changes",
    "flowadmin.rollouts",
    "flowadmin.emulator",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which would read the whole body: a live preview far over the id maximum.
    "flowadmin.changes.limits.PreviewBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "flowadmin.audit.middleware.CorrelationIdMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the login page with its message
]

ROOT_URLCONF = "flowadmin.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "flowadmin.accounts.context_processors.navigation",
                "flowadmin.changes.context_processors.pending_count",
            ],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                )
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                "django_htmx.templatetags.django_htmx",
                "flowadmin.templatetags.display",
            ],
        },
    },
]
if not DEBUG:
    # The partials loader must stay outermost (it splits "page.html#fragment"); it caches through the cached loader.
    _partials, _file_loaders = TEMPLATES[0]["OPTIONS"]["loaders"][0]
    TEMPLATES[0]["OPTIONS"]["loaders"] = [(_partials, [("django.template.loaders.cached.Loader", _file_loaders)])]

WSGI_APPLICATION = "flowadmin.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (the dashboard and the emulator it calls) write at once: wait, don't fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file (live-server threads need their own connections), one per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"flowadmin-test-{os.getpid()}.sqlite3")}
else:
    # One test database per test process, so parallel runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# --- The audit trail's signed checkpoints (README "Audit trail: guarantees") ---------------------
# The Ed25519 private key that signs checkpoints: from the environment or a file, never the database.
# Under DEBUG with neither set, a development key is made on first use in AUDIT_DEV_KEY_FILE.
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="")
AUDIT_SIGNING_KEY_FILE = env.str("AUDIT_SIGNING_KEY_FILE", default="")
AUDIT_DEV_KEY_FILE = BASE_DIR / ".audit-dev" / "signing-key"
# Public keys that checkpoints may verify with (several while a key is rotated); by default the
# public key of the signing key.
AUDIT_VERIFY_KEY = env.list("AUDIT_VERIFY_KEY", default=[])
AUDIT_VERIFY_KEY_FILE = env.str("AUDIT_VERIFY_KEY_FILE", default="")
# One file per checkpoint, on storage the database's administrators cannot write. Under DEBUG a
# folder per database in the project (git-ignored); required in production (check --deploy).
_db_label = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(str(DATABASES["default"].get("NAME") or "default")).name)
AUDIT_CHECKPOINT_DIR = env.str(
    "AUDIT_CHECKPOINT_DIR", default=str(BASE_DIR / ".audit-dev" / "checkpoints" / _db_label) if DEBUG else ""
)

# Connections outlive a request (a new SQLite connection re-reads the whole schema: about half the
# CPU of a small request, such as each call to the emulator).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username from one
# address, that pair is refused for LOGIN_LOCKOUT_MINUTES; a successful login resets the count.
AUTHENTICATION_BACKENDS = [
    "flowadmin.accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("LOGIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/login.html"
AXES_HTTP_RESPONSE_CODE = 429
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update({key: value for key, value in EMAIL_CONFIG.items() if value not in (None, "")})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="flowadmin@localhost")

# --- Security ----------------------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), no script reads the cookie
CSRF_FAILURE_VIEW = "flowadmin.views.csrf_failure"  # a page that says what to do, in the site's layout
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=not DEBUG) else None
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="flowadmin-demo")
