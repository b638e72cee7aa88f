"""Run several processes as one: each line they print comes out prefixed with their name; Ctrl-C or
SIGTERM stops them all, and so does any one of them ending. `make run` starts the web server and the
background worker with it:

    python scripts/run.py web="python manage.py runserver 127.0.0.1:8000" worker="python manage.py qcluster"

Each process gets a process group of its own, and a stop sends the group SIGINT, as Ctrl-C in a
terminal would (runserver's autoreloader and its server both end; qcluster's main process stops
its workers after their current task, which ignore SIGINT themselves); what is left after a grace
period gets SIGKILL. The exit status is that of the first process to end (0 after Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

GRACE_SECONDS = 20  # qcluster lets a running task finish first
COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m"]
RESET = "\033[0m"


class Runner:
    def __init__(self, commands: dict[str, list[str]], *, out=sys.stdout):
        self.commands = commands
        self.out = out
        self.width = max(len(name) for name in commands)
        self.colour = out.isatty()
        self.processes: dict[str, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.ended = threading.Event()
        self.first_exit: int | None = None

    def say(self, name: str, line: str) -> None:
        prefix = f"{name:<{self.width}} | "
        if self.colour:
            index = list(self.commands).index(name) % len(COLOURS)
            prefix = f"{COLOURS[index]}{prefix}{RESET}"
        with self.lock:
            self.out.write(prefix + line.rstrip("\n") + "\n")
            self.out.flush()

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.say(name, line)
        code = process.wait()
        with self.lock:
            if self.first_exit is None and not self.ended.is_set():
                self.first_exit = code
        self.say(name, f"exited with status {code}")
        self.ended.set()

    def start(self) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, command in self.commands.items():
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                env=environment,
                start_new_session=True,  # its own process group: a stop reaches its children
            )
            self.processes[name] = process
            self.say(name, f"started (pid {process.pid}): {shlex.join(command)}")
            threading.Thread(target=self._pump, args=(name, process), daemon=True).start()

    def stop(self) -> None:
        alive = {name: p for name, p in self.processes.items() if p.poll() is None}
        for name, process in alive.items():
            self.say(name, "stopping")
            self._signal(process, signal.SIGINT)
        deadline = time.monotonic() + GRACE_SECONDS
        for process in alive.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        for process in self.processes.values():  # what a process left behind in its group
            self._signal(process, signal.SIGKILL)

    @staticmethod
    def _signal(process: subprocess.Popen, number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, number)

    def run(self) -> int:
        stopping = threading.Event()

        def on_signal(number, frame):
            stopping.set()
            self.ended.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self.start()
        self.ended.wait()
        self.stop()
        return 0 if stopping.is_set() or self.first_exit is None else self.first_exit


def parse(pairs: list[str]) -> dict[str, list[str]]:
    commands = {}
    for pair in pairs:
        name, _, command = pair.partition("=")
        if not name or not command:
            raise SystemExit(f"expected NAME=COMMAND, got {pair!r}")
        commands[name] = shlex.split(command)
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run processes together; Ctrl-C stops them all.")
    parser.add_argument("process", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args(argv)
    return Runner(parse(args.process)).run()


if __name__ == "__main__":
    sys.exit(main())
