"""LOG_FORMAT=json: one JSON object a line, the request's correlation id on each, credentials masked."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory

from flowadmin.audit.middleware import CorrelationIdMiddleware
from flowadmin.ops.logs import CorrelationIdFilter, JsonFormatter, PlainFormatter

ROOT = Path(django_settings.BASE_DIR)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"


@pytest.fixture
def json_lines():
    """Log lines of the logger ``flowadmin.test`` as LOG_FORMAT=json writes them, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationIdFilter())
    logger = logging.getLogger("flowadmin.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_every_line_logged_during_a_request_carries_its_correlation_id(json_lines):
    logger = logging.getLogger("flowadmin.test")

    def view(request):
        logger.info("first %s", "line")
        logger.warning("second line")
        return HttpResponse("ok")

    response = CorrelationIdMiddleware(view)(RequestFactory().get("/"))
    logger.info("after the request")

    lines = json_lines()
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        ("INFO", "flowadmin.test", "first line"),
        ("WARNING", "flowadmin.test", "second line"),
        ("INFO", "flowadmin.test", "after the request"),
    ]
    assert [line["correlation_id"] for line in lines] == [response["X-Correlation-ID"]] * 2 + [""]
    assert all(line["time"].endswith("Z") and "T" in line["time"] for line in lines)


def test_credentials_in_a_message_or_an_exception_are_masked(json_lines):
    logger = logging.getLogger("flowadmin.test")
    try:
        raise ValueError(f"refused: Authorization: Bearer {TOKEN}")
    except ValueError:
        logger.exception("calling with Bearer %s failed", TOKEN)
    [line] = json_lines()
    assert TOKEN not in json.dumps(line)
    assert line["message"] == "calling with [redacted] failed"
    assert "ValueError: refused: Authorization: [redacted]" in line["exception"]
    plain = PlainFormatter().format(logging.makeLogRecord({"msg": "Basic dXNlcjpwYXNz sent", "levelname": "INFO"}))
    assert "dXNlcjpwYXNz" not in plain and "[redacted] sent" in plain


SCRIPT = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client()
client.force_login(get_user_model().objects.create_user("someone"))
response = client.get("/no-such-page/")
print("CORRELATION", response["X-Correlation-ID"], flush=True)
"""


@pytest.mark.parametrize("log_format", ["json", "plain"])
def test_log_format_chooses_the_lines_the_server_writes(log_format):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PLATFORM_", "FLOWADMIN_", "ADOBE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="flowadmin.settings",
        DATABASE_URL="sqlite://:memory:",
        SECRET_KEY=secrets.token_urlsafe(50),
        LOG_FORMAT=log_format,
        LOG_LEVEL="WARNING",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    correlation_id = result.stdout.split("CORRELATION ")[1].split()[0]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    not_found = [line for line in lines if "Not Found: /no-such-page/" in line]
    assert len(not_found) == (1 if log_format == "json" else 2)  # plain, under DEBUG: Django's own line too
    if log_format == "json":
        parsed = [json.loads(line) for line in lines]  # every line is one JSON object
        [logged] = [line for line in parsed if line["message"] == "Not Found: /no-such-page/"]
        assert (logged["level"], logged["logger"], logged["correlation_id"]) == (
            "WARNING",
            "django.request",
            correlation_id,
        )
    else:
        assert not any(line.startswith("{") for line in lines)
        assert any(" WARNING django.request Not Found: /no-such-page/" in line for line in not_found)


def test_an_unknown_log_format_stops_the_server_with_a_clear_message():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "flowadmin.settings", "LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in result.stderr
