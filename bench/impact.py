"""The blast-radius benchmark, in a process of its own (``python -m bench.impact``): which dataflows a
removal cuts off, read over real HTTP from the emulator in gunicorn with every request delayed by a
fault rule, in a sandbox of 1,000 dataflows.

Prints one JSON object: the reading (dependents found, requests, seconds; the median of a few runs)
against the ideal for those requests at the emulator's latency (their sum: the pages follow one
another), the CPU each side spent, and, for comparison, every dataflow of the sandbox read unfiltered
at the same page size.
"""

from __future__ import annotations

import argparse
import json
import time

import django

SANDBOX = "impact-000"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataflows", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--removed", type=int, default=2, help="connection spec ids removed at once")
    parser.add_argument("--runs", type=int, default=5, help="readings timed; the median one is reported")
    parser.add_argument("--server-pid", type=int, default=0, help="gunicorn's master: its workers' CPU is counted")
    args = parser.parse_args()
    django.setup()

    from django.conf import settings

    from bench import remote
    from bench.sync import server_cpu_seconds
    from flowadmin.changes.impact import impact_read
    from flowadmin.emulator.dataflows_seed import flows_generate
    from flowadmin.emulator.models import FlowDocument, RequestLogEntry
    from flowadmin.emulator.selectors import sandbox_get
    from flowadmin.flowservice import get_client

    remote.seed(sandboxes={SANDBOX: remote.sync_sandboxes(1)["sync-000"]})
    flows_generate(sandbox=sandbox_get(name=SANDBOX), count=args.dataflows)
    # The flow spec with the most dataflows, and the connection specs its dataflows use most.
    by_spec: dict[str, dict[str, int]] = {}
    for row in FlowDocument.objects.filter(sandbox__name=SANDBOX):
        document = row.document
        uses = by_spec.setdefault(document["flowSpec"]["id"], {})
        for source in document["inheritedAttributes"]["sourceConnections"]:
            uses[source["connectionSpec"]["id"]] = uses.get(source["connectionSpec"]["id"], 0) + 1
    spec_id, uses = max(by_spec.items(), key=lambda item: sum(item[1].values()))
    removed = sorted(uses, key=lambda item: -uses[item])[: args.removed]

    client = get_client()
    client.auth.token()  # the IMS token is not part of the reading
    control = remote.Control()
    control.add_fault(action="delay", delay_ms=args.latency_ms)
    latency = args.latency_ms / 1000
    page_size = settings.FLOWADMIN_IMPACT_PAGE_SIZE

    def timed(read) -> tuple[object, dict]:
        RequestLogEntry.objects.all().delete()
        server_cpu = server_cpu_seconds(args.server_pid)
        started, cpu = time.perf_counter(), time.process_time()
        result = read()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = server_cpu_seconds(args.server_pid) - server_cpu
        requests = RequestLogEntry.objects.count()
        ideal = requests * latency  # pages follow one another: no two requests of a reading overlap
        return result, {
            "seconds": round(seconds, 3),
            "requests": requests,
            "ideal_seconds": round(ideal, 3),
            "ratio_to_ideal": round(seconds / ideal, 2) if ideal else None,
            "cpu_seconds": round(cpu, 3),  # of this process: flowadmin's client and the impact's checks
            "server_cpu_seconds": round(server_cpu, 3),  # of gunicorn's workers: the emulator filtering the list
        }

    runs = [timed(lambda: impact_read(sandbox=SANDBOX, spec_id=spec_id, removed=removed)) for _ in range(args.runs)]
    impact, reading = sorted(runs, key=lambda run: run[1]["seconds"])[len(runs) // 2]  # the median run
    every, unfiltered = timed(lambda: client.list_flows(SANDBOX, limit=page_size))
    control.clear_faults()
    print(
        json.dumps(
            {
                "dataflows": args.dataflows,
                "latency_ms": args.latency_ms,
                "page_size": page_size,
                "removed": len(removed),
                "dependents": len(impact.dataflows),
                "dependents_expected": sum(uses[item] for item in removed),
                "fewest_requests": max(1, -(-sum(uses[item] for item in removed) // page_size)),
                "enabled": len(impact.enabled),
                "ok": impact.ok,
                "reading": reading,
                "unfiltered": {**unfiltered, "dataflows": len(every)},
            }
        )
    )


if __name__ == "__main__":
    main()
