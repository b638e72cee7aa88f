"""scripts/run.py, what `make run` starts the web server and the worker with: real processes, stopped together."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from tests.e2e.server import REPO_ROOT
from tests.reliability.helpers import wait_until

SLEEPER = f"{sys.executable} -c 'import time; print(\"up\", flush=True); time.sleep(120)'"


def start(*pairs: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "scripts/run.py", *pairs],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def read_until(process: subprocess.Popen, pattern: str, lines: list[str]) -> None:
    while not any(re.search(pattern, line) for line in lines):
        line = process.stdout.readline()
        assert line, f"the runner ended before printing {pattern!r}: {lines}"
        lines.append(line)


def test_sigterm_stops_both_processes_and_each_line_says_whose_it_is():
    runner = start(f"web={SLEEPER}", f"worker={SLEEPER}")
    lines: list[str] = []
    read_until(runner, r"^web    \| up$", lines)
    read_until(runner, r"^worker \| up$", lines)
    pids = [int(pid) for pid in re.findall(r"started \(pid (\d+)\)", "".join(lines))]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)

    runner.send_signal(signal.SIGTERM)
    output, _ = runner.communicate(timeout=60)
    assert runner.returncode == 0
    assert "web    | stopping" in output and "worker | stopping" in output
    wait_until(lambda: not any(alive(pid) for pid in pids), what="both processes to be gone", seconds=10)


def test_when_one_process_ends_the_other_is_stopped_and_its_status_is_the_runner_s():
    runner = start(f"web={SLEEPER}", f"worker={sys.executable} -c 'import sys; sys.exit(3)'")
    output, _ = runner.communicate(timeout=60)
    assert runner.returncode == 3
    assert "worker | exited with status 3" in output and "web    | stopping" in output
    [pid] = [int(found) for found in re.findall(r"web    \| started \(pid (\d+)\)", output)]
    wait_until(lambda: not alive(pid), what="the web process to be gone", seconds=10)
