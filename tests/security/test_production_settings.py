"""Cookies and HSTS as production serves them: a separate process with DEBUG=false, like a real deployment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(django_settings.BASE_DIR)
HOST = "flowadmin.example.com"

# Runs in the child process: an in-memory database, one user, the login page and a login over HTTPS.
SCRIPT = """
import json, os, django
django.setup()
from django.conf import settings
# Static files are collected at deploy time (collectstatic); not what is tested here.
plain_files = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain_files}
host = os.environ["ALLOWED_HOSTS"]
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client
call_command("migrate", verbosity=0)
get_user_model().objects.create_user("staff", password="pw-staff-Production-1")
client = Client(HTTP_HOST=host)
page = client.get("/accounts/login/", secure=True)
login = client.post("/accounts/login/", {"username": "staff", "password": "pw-staff-Production-1"}, secure=True)
plain = Client(HTTP_HOST=host).get("/accounts/login/")
def attributes(response, name):
    morsel = response.cookies[name]
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"]}
print(json.dumps({
    "login_status": login.status_code,
    "csrf": attributes(page, "csrftoken"),
    "session": attributes(login, "sessionid"),
    "hsts": page.headers.get("Strict-Transport-Security", ""),
    "plain_http": [plain.status_code, plain.headers.get("Location", "")],
}))
"""


def production(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PLATFORM_", "FLOWADMIN_", "ADOBE_"))}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL="sqlite://:memory:",
        DJANGO_SETTINGS_MODULE="flowadmin.settings",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served():
    return production()


def test_the_session_cookie_is_secure_http_only_and_same_site_in_production(served):
    assert served["login_status"] == 302
    assert served["session"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_the_csrf_cookie_is_secure_http_only_and_same_site_in_production(served):
    assert served["csrf"] == {"secure": True, "httponly": True, "samesite": "Lax"}


def test_production_sends_hsts_for_a_year_and_redirects_plain_http(served):
    assert served["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert served["plain_http"] == [301, f"https://{HOST}/accounts/login/"]


def test_hsts_is_configurable():
    served = production(SECURE_HSTS_SECONDS="600", SECURE_HSTS_PRELOAD="false", SECURE_HSTS_INCLUDE_SUBDOMAINS="false")
    assert served["hsts"] == "max-age=600"
