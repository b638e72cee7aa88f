"""The sync benchmark, in a process of its own (``python -m bench.sync``): `sandboxes_sync` over real HTTP
to the emulator in gunicorn, every emulator request delayed by a fault rule.

Prints one JSON object: cold (first) and warm (unchanged) syncs of every sandbox at the configured
concurrency, a sequential sync of a subset (extrapolated to all), request counts and peak memory.
"""

from __future__ import annotations

import argparse
import json
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandboxes", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--subset", type=int, default=20)
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

    def timed(**kwargs) -> dict:
        RequestLogEntry.objects.all().delete()
        started = time.perf_counter()
        results = sandboxes_sync(**kwargs)
        seconds = time.perf_counter() - started
        requests = RequestLogEntry.objects.count()
        return {
            "seconds": round(seconds, 3),
            "sandboxes": len(results),
            "failed": sum(1 for result in results if not result.ok),
            "requests": requests,
        }

    cold = timed()
    warm = timed()
    subset = [f"sync-{n:03d}" for n in range(min(args.subset, args.sandboxes))]
    with override_settings(FLOWADMIN_SYNC_CONCURRENCY=1):
        sequential = timed(names=subset)
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
