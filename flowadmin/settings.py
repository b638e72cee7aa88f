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
IMS_URL = env.str(
    "IMS_URL", default=_emulator_base if FLOWADMIN_EMULATOR and not _platform_url else "https://ims-na1.adobelogin.com"
).rstrip("/")

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
# Connection spec ids a proposal adds that the cache does not know are looked up in the sandbox's
# Flow Service, at most this many per request (0: no live lookup, unknown ids are refused).
FLOWADMIN_LOOKUP_MAX = max(0, env.int("FLOWADMIN_LOOKUP_MAX", default=5))
# An id the Flow Service answered 404 for is not asked again for this long (seconds; 0: always asked).
FLOWADMIN_LOOKUP_MISS_SECONDS = max(0, env.int("FLOWADMIN_LOOKUP_MISS_SECONDS", default=60))
# Dataflows asked for a page when reading which of them a removal affects (the Flow Service's limit is 1000).
FLOWADMIN_IMPACT_PAGE_SIZE = min(1000, max(1, env.int("FLOWADMIN_IMPACT_PAGE_SIZE", default=500)))
# Distinct approvers (never the author) a change needs before it is applied, by the tier of its
# sandbox: every path (change requests, rollout steps, reverts, retries). FLOWADMIN_ROLLOUT_PROD_APPROVALS
# is the older name of the production figure, still read when the new one is not set.
FLOWADMIN_APPROVALS_PRODUCTION = max(
    1, env.int("FLOWADMIN_APPROVALS_PRODUCTION", default=env.int("FLOWADMIN_ROLLOUT_PROD_APPROVALS", default=2))
)
FLOWADMIN_APPROVALS_DEVELOPMENT = max(1, env.int("FLOWADMIN_APPROVALS_DEVELOPMENT", default=1))

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
    "flowadmin.policy",
    "flowadmin.emulator",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Pages and fragments compressed (Django's BREACH mitigation pads each answer); static files come
    # compressed from whitenoise already.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Inside CommonMiddleware and GZip, which measure and compress the answer with the fragments in.
    "flowadmin.derived.SpliceMiddleware",
    # Before the CSRF check, which would read the whole body: a live preview far over the id maximum.
    "flowadmin.changes.limits.PreviewBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "flowadmin.audit.middleware.CorrelationIdMiddleware",
    # An htmx request of an expired session: the login page as a whole page, then back to the page.
    "flowadmin.accounts.middleware.HtmxLoginRedirectMiddleware",
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
                "flowadmin.policy.context_processors.frozen_count",
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
                "flowadmin.templatetags.fragments",
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

# What pages derive from documents (printed text, diffs, rendered fragments), kept by content
# (flowadmin/derived.py) where every process using the database reads it: by default files in the
# project (git-ignored), which every worker of the host shares; DOCUMENTS_CACHE_URL for another
# (redis://, filecache:///path, dbcache://table after `manage.py createcachetable`). A value is never
# stale (its key names its content), so it is kept until the cache needs room.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "documents": env.cache_url("DOCUMENTS_CACHE_URL", default=f"filecache://{BASE_DIR / '.documents-cache'}"),
}
CACHES["documents"].setdefault("TIMEOUT", None)
CACHES["documents"].setdefault("KEY_PREFIX", _db_label)  # rows are named by their keys in one database only
if CACHES["documents"]["BACKEND"].rsplit(".", 2)[-2] in ("filebased", "db", "locmem"):  # culled at this size
    CACHES["documents"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 1000)

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
    # Django's ModelBackend as LOCAL_LOGIN allows it, refusing demo users under DEBUG=false
    "flowadmin.accounts.backends.LocalPasswordBackend",
    "flowadmin.accounts.sso.backend.SingleSignOnBackend",  # OpenID Connect; inert while OIDC_ISSUER is unset
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

# === Production guards, proxy, metrics and logs (flowadmin.ops; README "Production") ===========
# Kept in this one block so that other settings stay as they are.
INSTALLED_APPS += ["flowadmin.ops"]  # deploy checks, /metrics

# Behind a reverse proxy (the production default) the client's address and request id come from the
# proxy's headers; without one those headers are the client's own words and are ignored.
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=not DEBUG)
# Proxies in front of flowadmin that each append to PROXY_CLIENT_IP_HEADER (nginx alone: 1).
TRUSTED_PROXY_COUNT = max(1, env.int("TRUSTED_PROXY_COUNT", default=1))
# Addresses or networks of the proxy flowadmin's server is reached from; when set, a request from any
# other address is treated as direct (its forwarded headers ignored).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
PROXY_CLIENT_IP_HEADER = env.str("PROXY_CLIENT_IP_HEADER", default="X-Forwarded-For")
# The proxy sets X-Request-ID on every request (replacing the client's): use it as the correlation id.
PROXY_REQUEST_ID = env.bool("PROXY_REQUEST_ID", default=False)
# django-axes throttles on the same real client address (flowadmin.ops.proxy).
AXES_CLIENT_IP_CALLABLE = "flowadmin.ops.proxy.client_address"

# Under DEBUG=false the emulator (public demo credentials, _faults, _log) is mounted only with this
# explicit opt-in, which `check --deploy` still reports as an error.
FLOWADMIN_EMULATOR_PUBLIC = env.bool("FLOWADMIN_EMULATOR_PUBLIC", default=False)
FLOWADMIN_EMULATOR_MOUNTED = FLOWADMIN_EMULATOR and (DEBUG or FLOWADMIN_EMULATOR_PUBLIC)

# /metrics (Prometheus): from these addresses/networks, or with `Authorization: Bearer METRICS_TOKEN`.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1/32", "::1/128"] if DEBUG else [])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Scrapers call the server directly over the internal network: no redirect to HTTPS for /metrics.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# LOG_FORMAT=json: one JSON object a line (time, level, logger, message, correlation_id).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING["filters"] = {"correlation": {"()": "flowadmin.ops.logs.CorrelationIdFilter"}}
LOGGING["formatters"]["plain"] = {"()": "flowadmin.ops.logs.PlainFormatter"}  # the same lines, credentials masked
LOGGING["formatters"]["json"] = {"()": "flowadmin.ops.logs.JsonFormatter"}
LOGGING["handlers"]["console"]["filters"] = ["correlation"]
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
if LOG_FORMAT == "json":  # Django's own console handler (DEBUG only) would write plain lines: everything via root
    LOGGING["loggers"]["django"] = {"handlers": [], "level": LOGGING["root"]["level"], "propagate": True}
# === end of production guards, proxy, metrics and logs ==========================================
# === Background tasks (django-q2, ORM broker) =================================== begin ===
# Work outside requests runs in `manage.py qcluster` (several processes, on several machines, sharing
# the database): sync runs, scheduled syncs, reconcile_changes, rollout runs and e-mails. A task a
# killed worker left unacknowledged is delivered again FLOWADMIN_TASK_RETRY seconds after it was
# taken; FLOWADMIN_TASK_TIMEOUT ends a task that runs longer (it must be the smaller, so a task still
# running is never delivered twice).
FLOWADMIN_TASK_TIMEOUT = env.int("FLOWADMIN_TASK_TIMEOUT", default=600)
FLOWADMIN_TASK_RETRY = env.int("FLOWADMIN_TASK_RETRY", default=FLOWADMIN_TASK_TIMEOUT + 60)
if max(FLOWADMIN_TASK_TIMEOUT, FLOWADMIN_APPLY_GRACE_SECONDS) >= FLOWADMIN_TASK_RETRY:
    # Larger than the grace too: a rollout run delivered again must find its step ready to be read back.
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "FLOWADMIN_TASK_RETRY must be larger than FLOWADMIN_TASK_TIMEOUT and FLOWADMIN_APPLY_GRACE_SECONDS."
    )
FLOWADMIN_TASK_WORKERS = max(1, env.int("FLOWADMIN_TASK_WORKERS", default=2))
# Seconds between two looks of an idle worker at the queue: how long a task waits to be taken (a sync
# run waits twice: for its own task, then for its parts'), against one small query per look.
FLOWADMIN_TASK_POLL = max(0.05, env.float("FLOWADMIN_TASK_POLL", default=0.2))
# A sync run's sandboxes are split into this many tasks (parts) that the workers run side by side, each
# on FLOWADMIN_SYNC_CONCURRENCY / parts threads: one per worker process of the whole deployment.
FLOWADMIN_SYNC_PARTS = max(1, env.int("FLOWADMIN_SYNC_PARTS", default=FLOWADMIN_TASK_WORKERS))
# Minutes between two scheduled syncs of every sandbox; 0 turns the schedule off.
FLOWADMIN_SYNC_SCHEDULE_MINUTES = max(0, env.int("FLOWADMIN_SYNC_SCHEDULE_MINUTES", default=15))
# true: tasks run at once, in the process that enqueues them (the test suite; no worker needed).
FLOWADMIN_TASKS_SYNC = env.bool("FLOWADMIN_TASKS_SYNC", default=False)
Q_CLUSTER = {
    "name": "flowadmin",
    "orm": "default",
    "workers": FLOWADMIN_TASK_WORKERS,
    "timeout": FLOWADMIN_TASK_TIMEOUT,
    "retry": FLOWADMIN_TASK_RETRY,
    "ack_failures": True,  # a task that raised is recorded as failed; flowadmin.tasks schedules its retries
    "queue_limit": FLOWADMIN_TASK_WORKERS,  # taken from the queue before a worker is free: few
    "poll": FLOWADMIN_TASK_POLL,  # seconds between two looks at an empty queue
    "catch_up": False,  # a worker back after hours runs a missed schedule once, not once per missed run
    "save_limit": 1000,  # successful tasks kept (failures are all kept)
    "label": "Background tasks",
}
INSTALLED_APPS += ["django_q", "flowadmin.tasks"]
# === Background tasks =========================================================== end =====
# --- Single sign-on (OpenID Connect) ------------------------------------------------------------
# Everything single sign-on needs, in this block only; the logic lives in flowadmin/accounts/sso/.
# SSO is on when OIDC_ISSUER is set: endpoints and keys come from the issuer's discovery document.
# The settings named OIDC_RP_* / OIDC_USE_* / OIDC_STORE_* are mozilla-django-oidc's own.
from urllib.parse import urlsplit as _urlsplit  # noqa: E402

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from flowadmin.accounts.role_map import LOCAL_LOGIN_MODES, role_map_parse  # noqa: E402

OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default=_urlsplit(OIDC_ISSUER).hostname or "")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")  # from the environment only; never logged or shown
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid profile email")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGO", default="RS256")
OIDC_ROLES_CLAIM = env.str("OIDC_ROLES_CLAIM", default="groups")
OIDC_USERNAME_CLAIM = env.str("OIDC_USERNAME_CLAIM", default="preferred_username")
OIDC_ROLE_MAP = role_map_parse(env.str("OIDC_ROLE_MAP", default=""))
_token_auth = env.str("OIDC_TOKEN_AUTH", default="basic").strip().lower()
if _token_auth not in ("basic", "post"):
    raise ImproperlyConfigured(f"OIDC_TOKEN_AUTH must be basic or post, not {_token_auth!r}.")
OIDC_TOKEN_USE_BASIC_AUTH = _token_auth == "basic"
OIDC_SESSION_HOURS = env.float("OIDC_SESSION_HOURS", default=8)
OIDC_CLOCK_SKEW_SECONDS = env.int("OIDC_CLOCK_SKEW_SECONDS", default=60)
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of RP-initiated logout
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
# Password login: "on", "off" (SSO only) or "superusers" (break-glass administrators only).
LOCAL_LOGIN = env.str("LOCAL_LOGIN", default="on").strip().lower()
LOCAL_LOGIN = {"true": "on", "false": "off"}.get(LOCAL_LOGIN, LOCAL_LOGIN)
if LOCAL_LOGIN not in LOCAL_LOGIN_MODES:
    raise ImproperlyConfigured(f"LOCAL_LOGIN must be one of {', '.join(LOCAL_LOGIN_MODES)}, not {LOCAL_LOGIN!r}.")
if OIDC_ISSUER:
    if not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
        raise ImproperlyConfigured("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required too.")
    # Logging out sends the logout form's answer on to the provider: form-action must allow its origin.
    _issuer = _urlsplit(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [SELF, f"{_issuer.scheme}://{_issuer.netloc}"]
elif LOCAL_LOGIN != "on":
    raise ImproperlyConfigured(f"LOCAL_LOGIN={LOCAL_LOGIN} needs single sign-on (OIDC_ISSUER), or nobody could log in.")
# --- end of single sign-on ----------------------------------------------------------------------
