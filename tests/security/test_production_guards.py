"""A database seeded by `make run`, then served with production settings, as a separate process.

`make run` migrates and runs seed_demo (DEBUG on, the emulator on); the same database served with
DEBUG=false must not let the demo users in, `check --deploy` must say what is wrong, seed_demo must
refuse, and the emulator must not be served to anyone unless explicitly opted in (and then flagged).
SQLite or PostgreSQL, as DATABASE_URL says.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from flowadmin.accounts.demo import DEMO_LOGIN_REFUSED, PUBLIC_DEMO_PASSWORD
from tests.reliability.servers import own_database

ROOT = Path(django_settings.BASE_DIR)
HOST = "flowadmin.example.com"
DEMO_SECRET = "flowadmin-demo-secret"

# Runs under production settings: the login page, a login as each demo user, the emulator's endpoints.
SCRIPT = """
import json, os, sys, django
django.setup()
from django.conf import settings
plain_files = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain_files}
from django.test import Client
password = sys.argv[1]
out = {"logins": {}}
for username in ("staff", "approver", "auditor"):
    client = Client(HTTP_HOST=os.environ["ALLOWED_HOSTS"])
    answer = client.post("/accounts/login/", {"username": username, "password": password}, secure=True)
    out["logins"][username] = [answer.status_code, answer.content.decode(), "_auth_user_id" in client.session]
client = Client(HTTP_HOST=os.environ["ALLOWED_HOSTS"])
out["emulator"] = {
    "faults": client.get("/emulator/_faults", secure=True).status_code,
    "token": client.post(
        "/emulator/ims/token/v3",
        {"grant_type": "client_credentials", "client_id": "flowadmin-demo-client", "client_secret": sys.argv[2]},
        secure=True,
    ).status_code,
}
metrics = Client(HTTP_HOST=os.environ["ALLOWED_HOSTS"])
out["metrics"] = [
    metrics.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code,  # plain HTTP, from the same host
    metrics.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer " + sys.argv[3]).status_code,
]
print(json.dumps(out))
"""


def environment(database_url: str, **extra) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PLATFORM_", "FLOWADMIN_", "ADOBE_"))}
    env.pop("DEMO_PASSWORD", None)
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="flowadmin.settings", LOG_LEVEL="WARNING")
    env.update(extra)
    return env


def development(database_url: str) -> dict[str, str]:
    """What `make run` runs with: no .env, DEBUG and the emulator on by default."""
    return environment(database_url, DEBUG="true")


def production(database_url: str, **extra) -> dict[str, str]:
    """Production settings against Adobe (unless ``extra`` says otherwise; None removes a variable)."""
    settings = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "PLATFORM_URL": "https://platform.adobe.io",
        "ADOBE_CLIENT_ID": "a-real-client",
        "ADOBE_CLIENT_SECRET": secrets.token_urlsafe(24),
        "ADOBE_ORG_ID": "ABC@AdobeOrg",
        **extra,
    }
    return environment(database_url, **{key: value for key, value in settings.items() if value is not None})


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run(env, sys.executable, "manage.py", *args)


@pytest.fixture(scope="module")
def seeded():
    """The database `make run` leaves behind (migrate, then seed_demo), as its DATABASE_URL."""
    with tempfile.TemporaryDirectory(prefix="flowadmin-guards-") as folder, own_database(Path(folder), "guards") as url:
        for command in (["migrate", "--noinput"], ["seed_demo"]):
            result = manage(development(url), *command)
            assert result.returncode == 0, result.stdout + result.stderr
        assert PUBLIC_DEMO_PASSWORD in result.stdout
        yield url


def served(env: dict[str, str], password: str = PUBLIC_DEMO_PASSWORD) -> dict:
    result = run(env, sys.executable, "-c", SCRIPT, password, DEMO_SECRET, env.get("METRICS_TOKEN", "no-token"))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_demo_users_cannot_log_in_when_the_seeded_database_is_served_with_debug_off(seeded):
    answers = served(production(seeded))["logins"]
    for username, (status, page, signed_in) in answers.items():
        assert (username, status, signed_in) == (username, 200, False)
        assert DEMO_LOGIN_REFUSED in page


def test_check_deploy_reports_the_demo_users_left_in_the_database(seeded):
    result = manage(production(seeded), "check", "--deploy")
    assert result.returncode != 0
    assert "flowadmin.E004" in result.stderr
    assert "approver, approver2, auditor, staff" in result.stderr


def test_seed_demo_refuses_under_production_settings(seeded):
    result = manage(production(seeded), "seed_demo", "--password", "another")
    assert result.returncode != 0
    assert "Demo users are only created while the embedded emulator is in use and DEBUG is on" in result.stderr


def test_under_debug_off_the_emulator_is_not_served_even_when_asked_for(seeded):
    emulator = served(production(seeded, FLOWADMIN_EMULATOR="true"))["emulator"]
    assert emulator == {"faults": 404, "token": 404}
    result = manage(production(seeded, FLOWADMIN_EMULATOR="true"), "check", "--deploy")
    assert "flowadmin.E003" in result.stderr and "the emulator is not served" in result.stderr


def test_the_explicit_opt_in_serves_the_emulator_and_check_deploy_still_reports_it(seeded):
    adobe = dict.fromkeys(["PLATFORM_URL", "ADOBE_CLIENT_ID", "ADOBE_CLIENT_SECRET", "ADOBE_ORG_ID"])  # removed
    env = production(seeded, FLOWADMIN_EMULATOR="true", FLOWADMIN_EMULATOR_PUBLIC="true", **adobe)
    emulator = served(env)["emulator"]
    assert emulator["token"] == 200  # the public demo secret gets a token: what the opt-in accepts
    result = manage(env, "check", "--deploy")
    assert result.returncode != 0
    assert "flowadmin.E003" in result.stderr and "FLOWADMIN_EMULATOR_PUBLIC serves it" in result.stderr
    assert "flowadmin.E002" in result.stderr


def test_check_deploy_reports_default_secrets_and_an_open_metrics_endpoint(seeded):
    env = production(
        seeded,
        SECRET_KEY="dev-only-insecure-key-change-me",
        ADOBE_CLIENT_SECRET=DEMO_SECRET,
        METRICS_ALLOWED_IPS="0.0.0.0/0",
        METRICS_TOKEN="short",
    )
    result = manage(env, "check", "--deploy")
    assert result.returncode != 0
    for check_id in ("flowadmin.E001", "flowadmin.E002", "flowadmin.E005", "flowadmin.E006"):
        assert check_id in result.stderr, check_id
    assert "dev-only-insecure-key-change-me" not in result.stderr + result.stdout


def test_check_reports_an_address_list_it_cannot_read(seeded):
    result = manage(production(seeded, TRUSTED_PROXIES="10.0.0.0/8,proxy.internal"), "check")
    assert result.returncode != 0
    assert "flowadmin.E010" in result.stderr and "'proxy.internal' is not an IP address or network" in result.stderr


def test_metrics_are_closed_by_default_in_production_and_open_with_the_token(seeded):
    assert served(production(seeded))["metrics"] == [403, 403]  # refused, not redirected to HTTPS
    assert served(production(seeded, METRICS_TOKEN=secrets.token_urlsafe(32)))["metrics"] == [403, 200]
