"""The sync benchmark, in a process of its own (``python -m bench.sync``): `sandboxes_sync` over real HTTP
to the emulator in gunicorn, every emulator request delayed by a fault rule.

Prints one JSON object: cold (first) and warm (unchanged) syncs of every sandbox at the configured
concurrency, a sequential sync of a subset (extrapolated to all), request counts and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import django


def server_cpu_seconds(master: int) -> float:
    """User + system CPU seconds of the children of process ``master`` (gunicorn's workers)."""
    if not master:
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
        if int(fields[1]) == master:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandboxes", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--subset", type=int, default=20)
    parser.add_argument("--server-pid", type=int, default=0, help="gunicorn's master: its workers' CPU is counted")
    parser.add_argument("--profile", default="", help="CPU profile of the one-by-one sync (text)")
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

    def timed(profile: str = "", **kwargs) -> dict:
        RequestLogEntry.objects.all().delete()
        load_before = os.getloadavg()[0]
        server_cpu = server_cpu_seconds(args.server_pid)
        started, cpu = time.perf_counter(), time.process_time()
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the network and database drop out
            results = profiler.runcall(sandboxes_sync, **kwargs)
            with open(profile, "w", encoding="utf-8") as handle:
                pstats.Stats(profiler, stream=handle).sort_stats("cumulative").print_stats(60)
                pstats.Stats(profiler, stream=handle).sort_stats("tottime").print_stats(40)
        else:
            results = sandboxes_sync(**kwargs)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = server_cpu_seconds(args.server_pid) - server_cpu
        requests = RequestLogEntry.objects.count()
        cores = os.cpu_count() or 1
        return {
            "seconds": round(seconds, 3),
            "sandboxes": len(results),
            "failed": sum(1 for result in results if not result.ok),
            "requests": requests,
            "cpu_seconds": round(cpu, 3),  # of this process
            "server_cpu_seconds": round(server_cpu, 3),  # of gunicorn's workers: the emulator's side
            "cpu_ms_per_sandbox": round(cpu * 1000 / max(1, len(results)), 2),
            "server_cpu_ms_per_request": round(server_cpu * 1000 / max(1, requests), 2),
            # The least wall time the CPU of both sides allows on this machine's cores (database server not counted).
            "cpu_bound_seconds": round((cpu + server_cpu) / cores, 3),
            "load_average_before": round(load_before, 2),  # 1-minute: other work on the machine at the start
            "load_average_after": round(os.getloadavg()[0], 2),
        }

    cold = timed()
    warm = timed()
    subset = [f"sync-{n:03d}" for n in range(min(args.subset, args.sandboxes))]
    with override_settings(FLOWADMIN_SYNC_CONCURRENCY=1):
        sequential = timed(profile=args.profile, names=subset)
    control.clear_faults()
    for run in (cold, warm):
        run["ideal_seconds"] = round(run["requests"] * latency / concurrency, 3)
        run["ratio_to_ideal"] = round(run["seconds"] / run["ideal_seconds"], 2)
    per_sandbox = sequential["seconds"] / max(1, sequential["sandboxes"])
    sequential["extrapolated_seconds"] = round(per_sandbox * args.sandboxes, 3)
    print(
        json.dumps(
            {
                "sandboxes": args.sandboxes,
                "latency_ms": args.latency_ms,
                "concurrency": concurrency,
                "cold": cold,
                "warm": warm,
                "sequential_subset": sequential,
                "speedup_warm_vs_sequential": round(sequential["extrapolated_seconds"] / warm["seconds"], 2),
                "speedup_cold_vs_sequential": round(sequential["extrapolated_seconds"] / cold["seconds"], 2),
                "peak_rss_kb": peak_rss_kb(),
                "baseline_rss_kb": baseline_kb,
            }
        )
    )


if __name__ == "__main__":
    main()
