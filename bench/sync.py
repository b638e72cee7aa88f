"""The sync benchmark, in a process of its own (``python -m bench.sync``): sync runs over real HTTP to the
emulator in gunicorn, every emulator request delayed by a fault rule.

Cold (first) and warm (unchanged) syncs of every sandbox run as production runs them: a background
sync run (`sync_run_start`) taken up by a real ``manage.py qcluster`` with ``--workers`` worker processes,
which split it into parts. Prints one JSON object: those two, a warm run on threads of this one process
(as ``sync_flowspecs``), a sequential `sandboxes_sync` of a subset, cold (its cache emptied) and then
warm (each extrapolated to all), request counts, CPU and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
WORKER_START_SECONDS = 60
RUN_SECONDS = 300


def cpu_seconds(*, parent: int = 0, group: int = 0) -> float:
    """User + system CPU seconds of the children of process ``parent`` (gunicorn's workers), or of the
    processes of process group ``group`` (a qcluster and its workers)."""
    if not parent and not group:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if (parent and int(fields[1]) == parent) or (group and int(fields[2]) == group):  # ppid, pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def server_cpu_seconds(master: int) -> float:
    """User + system CPU seconds of the children of process ``master`` (gunicorn's workers)."""
    return cpu_seconds(parent=master)


class TaskWorkers:
    """A real ``manage.py qcluster`` on the bench database, with ``workers`` worker processes."""

    def __init__(self, workers: int):
        self.workers = workers
        self.log_path = Path(tempfile.gettempdir()) / f"bench-qcluster-{os.getpid()}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from django_q.models import Schedule, Task
        from django_q.tasks import async_task

        # No schedules: the scheduled sync (due at once after migrate) would compete with the measured runs.
        Schedule.objects.all().delete()

        env = {**os.environ, "FLOWADMIN_TASK_WORKERS": str(self.workers), "FLOWADMIN_TASKS_SYNC": "false"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: its CPU is counted, and it is stopped, as one
            )
        probe = async_task("math.floor", 1.5, task_name="bench: worker ready")
        deadline = time.monotonic() + WORKER_START_SECONDS
        while not Task.objects.filter(id=probe).exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"qcluster did not run a task; see {self.log_path}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        return cpu_seconds(group=self.process.pid) if self.process else 0.0

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # the cluster lets its workers finish, then exits (as systemd's KillMode=mixed)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def background_run() -> list:
    """A sync run of every sandbox handed to the workers, as "Sync now" does; its results once it is finished."""
    from flowadmin.catalog.models import SyncRun
    from flowadmin.catalog.services import sync_run_start

    run = sync_run_start(background=True).run
    deadline = time.monotonic() + RUN_SECONDS
    while not SyncRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"sync run {run.pk} did not finish in {RUN_SECONDS} s")
        time.sleep(0.02)
    return run_results(run)


def foreground_run() -> list:
    """A sync run of every sandbox on threads of this process, as ``manage.py sync_flowspecs`` does."""
    from flowadmin.catalog.services import sync_run_start

    return run_results(sync_run_start(background=False).run)


def forget(names: list[str]) -> None:
    """Empty the cache of sandboxes ``names`` (their flow specs, with their versions and sources, and their
    connection specs), so that their next sync is a first one, as the cold run's was."""
    from flowadmin.catalog.models import ConnectionSpec, FlowSpec, Sandbox

    FlowSpec.objects.filter(sandbox__name__in=names).delete()
    ConnectionSpec.objects.filter(sandbox__name__in=names).delete()
    Sandbox.objects.filter(name__in=names).update(last_synced_at=None)


def run_results(run) -> list:
    from flowadmin.catalog.errors import NOT_LISTED
    from flowadmin.catalog.models import Sandbox
    from flowadmin.catalog.services import SyncResult

    rows = run.items.exclude(error=NOT_LISTED).values_list("sandbox_name", "state", "error")  # NOT_LISTED: gone
    results = [SyncResult(sandbox=name, ok=state == "succeeded", error=error) for name, state, error in rows]
    leased = Sandbox.objects.filter(sync_lease_token=run.token).count()
    if leased:  # a finished run holds none
        results.append(SyncResult(sandbox="", ok=False, error=f"{leased} leases still held after the run"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandboxes", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--subset", type=int, default=20)
    parser.add_argument("--server-pid", type=int, default=0, help="gunicorn's master: its workers' CPU is counted")
    parser.add_argument("--profile", default="", help="CPU profile of the one-by-one sync from a cold cache (text)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the qcluster (and parts of a run)")
    args = parser.parse_args()
    django.setup()

    from django.conf import settings
    from django.test.utils import override_settings

    from bench import remote
    from bench.procinfo import peak_rss_kb
    from flowadmin.catalog.services import sandboxes_sync
    from flowadmin.emulator.models import RequestLogEntry

    remote.seed(sandboxes=remote.sync_sandboxes(args.sandboxes))
    control = remote.Control()
    control.add_fault(action="delay", delay_ms=args.latency_ms)
    baseline_kb = peak_rss_kb()
    concurrency = settings.FLOWADMIN_SYNC_CONCURRENCY
    latency = args.latency_ms / 1000

    workers = TaskWorkers(args.workers)

    def timed(profile: str = "", sync=sandboxes_sync, **kwargs) -> dict:
        RequestLogEntry.objects.all().delete()
        load_before = os.getloadavg()[0]
        server_cpu = server_cpu_seconds(args.server_pid)
        started, cpu = time.perf_counter(), time.process_time() + workers.cpu_seconds()
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the network and database drop out
            results = profiler.runcall(sandboxes_sync, **kwargs)
            with open(profile, "w", encoding="utf-8") as handle:
                pstats.Stats(profiler, stream=handle).sort_stats("cumulative").print_stats(60)
                pstats.Stats(profiler, stream=handle).sort_stats("tottime").print_stats(40)
        else:
            results = sync(**kwargs)
        seconds, cpu = time.perf_counter() - started, time.process_time() + workers.cpu_seconds() - cpu
        server_cpu = server_cpu_seconds(args.server_pid) - server_cpu
        requests = RequestLogEntry.objects.count()
        cores = os.cpu_count() or 1
        return {
            "seconds": round(seconds, 3),
            "sandboxes": len(results),
            "failed": sum(1 for result in results if not result.ok),
            "errors": sorted({result.error for result in results if not result.ok}),
            "requests": requests,
            "cpu_seconds": round(cpu, 3),  # of this process and the qcluster's
            "server_cpu_seconds": round(server_cpu, 3),  # of gunicorn's workers: the emulator's side
            "cpu_ms_per_sandbox": round(cpu * 1000 / max(1, len(results)), 2),
            "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, requests), 2),
            # The least wall time the CPU of both sides allows on this machine's cores (database server not counted).
            "cpu_bound_seconds": round((cpu + server_cpu) / cores, 3),
            "load_average_before": round(load_before, 2),  # 1-minute: other work on the machine at the start
            "load_average_after": round(os.getloadavg()[0], 2),
        }

    workers.start()
    try:
        cold = timed(sync=background_run)
        warm = timed(sync=background_run)
    finally:
        workers.stop()
    one_process = timed(sync=foreground_run)  # warm, on threads of this process
    subset = [f"sync-{n:03d}" for n in range(min(args.subset, args.sandboxes))]
    with override_settings(FLOWADMIN_SYNC_CONCURRENCY=1):
        forget(subset)  # one by one from a cold cache too: the cold run is compared with it
        sequential_cold = timed(profile=args.profile, names=subset)
        sequential = timed(names=subset)
    control.clear_faults()
    for run in (cold, warm, one_process):
        run["ideal_seconds"] = round(run["requests"] * latency / concurrency, 3)
        run["ratio_to_ideal"] = round(run["seconds"] / run["ideal_seconds"], 2)
    for run in (sequential_cold, sequential):
        per_sandbox = run["seconds"] / max(1, run["sandboxes"])
        run["extrapolated_seconds"] = round(per_sandbox * args.sandboxes, 3)
    print(
        json.dumps(
            {
                "sandboxes": args.sandboxes,
                "latency_ms": args.latency_ms,
                "concurrency": concurrency,
                "workers": args.workers,
                "cold": cold,
                "warm": warm,
                "one_process_warm": one_process,
                "sequential_subset": sequential,
                "sequential_subset_cold": sequential_cold,
                "speedup_warm_vs_sequential": round(sequential["extrapolated_seconds"] / warm["seconds"], 2),
                "speedup_cold_vs_sequential": round(sequential_cold["extrapolated_seconds"] / cold["seconds"], 2),
                "peak_rss_kb": peak_rss_kb(),
                "baseline_rss_kb": baseline_kb,
            }
        )
    )


if __name__ == "__main__":
    main()
