import base64
import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError

ROOT = Path(django_settings.BASE_DIR)


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def _production_env(**extra):
    prefixes = ("PLATFORM_", "FLOWADMIN_", "ADOBE_", "AUDIT_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="flowadmin.example.com",
        DJANGO_SETTINGS_MODULE="flowadmin.settings",
        DATABASE_URL="sqlite://:memory:",  # not the developer's db.sqlite3 (check --deploy looks for demo users)
        AUDIT_SIGNING_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUDIT_CHECKPOINT_DIR=str(Path(tempfile.gettempdir()) / "flowadmin-audit-checkpoints"),
    )
    env.update(extra)
    return env


def test_check_deploy_is_clean_with_production_variables():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_turn_the_emulator_off_unless_asked():
    code = "from django.conf import settings as s; print(s.FLOWADMIN_EMULATOR, s.PLATFORM_URL, s.SESSION_COOKIE_SECURE)"
    run = lambda **extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=_production_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert run() == ["False", "https://platform.adobe.io", "True"]
    assert run(FLOWADMIN_EMULATOR="on")[0] == "True"


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = _production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy(client, staff_user):
    pages = [client.get("/accounts/login/")]
    client.force_login(staff_user)
    pages.append(client.get("/"))
    for response in pages:
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "object-src 'none'" in policy


@pytest.mark.django_db
def test_pages_show_which_flow_service_is_in_use(client, staff_user, settings):
    client.force_login(staff_user)
    assert b"Flow Service: local emulator" in client.get("/").content
    settings.PLATFORM_URL = "https://platform.adobe.io"
    assert b"Flow Service: platform.adobe.io" in client.get("/").content


def test_no_template_has_inline_script_or_style():
    offenders = []
    for template in ROOT.joinpath("templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\sstyle\s*=|<style", text):
            offenders.append(str(template.relative_to(ROOT)))
        if re.search(r'\son[a-z]+\s*=\s*"', text):
            offenders.append(str(template.relative_to(ROOT)) + " (inline event handler)")
    assert offenders == []


def test_pages_are_sent_compressed_to_browsers_that_accept_it(staff_client):
    import gzip

    page = staff_client.get("/sandboxes/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert page["Content-Encoding"] == "gzip"
    assert b"<h1>Sandboxes" in gzip.decompress(page.content)
    assert "Content-Encoding" not in staff_client.get("/sandboxes/")
