"""The task timeouts are checked when the settings load: a task still running must never be handed out again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.server import REPO_ROOT


def check(**env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLOWADMIN_")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "env",
    [
        {"FLOWADMIN_TASK_TIMEOUT": "600", "FLOWADMIN_TASK_RETRY": "600"},
        {"FLOWADMIN_TASK_TIMEOUT": "10", "FLOWADMIN_TASK_RETRY": "30", "FLOWADMIN_APPLY_GRACE_SECONDS": "60"},
    ],
    ids=["retry-not-above-timeout", "retry-not-above-grace"],
)
def test_a_retry_that_is_not_the_longest_is_refused_at_start(env):
    result = check(**env)
    assert result.returncode != 0
    assert "FLOWADMIN_TASK_RETRY must be larger than FLOWADMIN_TASK_TIMEOUT and FLOWADMIN_APPLY_GRACE_SECONDS" in (
        result.stderr
    )


def test_the_defaults_pass():
    result = check()
    assert result.returncode == 0, result.stderr[-2000:]


SHOW_POLL = "from django.conf import settings; print(settings.Q_CLUSTER['poll'])"


@pytest.mark.parametrize(("value", "poll"), [(None, 0.2), ("1.5", 1.5), ("0", 0.05)])
def test_the_workers_look_at_the_queue_as_often_as_flowadmin_task_poll_says_and_never_in_a_busy_loop(value, poll):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLOWADMIN_")}
    if value is not None:
        environment["FLOWADMIN_TASK_POLL"] = value
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SHOW_POLL],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert float(result.stdout.strip().splitlines()[-1]) == poll
