"""Settings of a benchmark run: the project's, as deployed (cached templates, DEBUG off), on the bench database.

The runner picks the database and exports it (``FLOWADMIN_BENCH_DB``) before Django starts, so that
the servers and helper processes it starts use the same one. ``ROOT_URLCONF`` adds the floor view.
"""

import os

from flowadmin.settings import *  # noqa: F403
from flowadmin.settings import BASE_DIR, DATABASES, LOGGING, TEMPLATES

ROOT_URLCONF = "bench.urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The emulator runs in the bench's own gunicorn on 127.0.0.1 under DEBUG off: the explicit opt-in
# that production never has (flowadmin.ops.checks reports it).
FLOWADMIN_EMULATOR_PUBLIC = True
FLOWADMIN_EMULATOR_MOUNTED = FLOWADMIN_EMULATOR  # noqa: F405

# Templates cached as under production settings (DEBUG false), whatever DEBUG the environment has.
_partials, _inner = TEMPLATES[0]["OPTIONS"]["loaders"][0]
if not (isinstance(_inner[0], tuple) and _inner[0][0] == "django.template.loaders.cached.Loader"):
    TEMPLATES[0]["OPTIONS"]["loaders"] = [(_partials, [("django.template.loaders.cached.Loader", _inner)])]
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]

_bench_db = os.environ.get("FLOWADMIN_BENCH_DB", "")
if _bench_db:
    DATABASES["default"]["NAME"] = _bench_db
    DATABASES["default"]["TEST"] = {"NAME": _bench_db}

# Every remote call is logged at INFO: thousands of lines during a sync or a load test.
LOGGING["root"]["level"] = os.environ.get("LOG_LEVEL", "WARNING")
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
