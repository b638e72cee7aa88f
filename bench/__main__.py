"""``python -m bench``: build a data set in a throw-away database, measure, print a table, write bench/results.json.

    python -m bench                 # scale 1: 10,000 flow specs, 1,000 change requests, 1,000,000 audit events
    python -m bench --scale 0.01    # a quick run on 1 % of that
    python -m bench --quick         # fewer samples, 10 s per load level
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench   # on PostgreSQL

See README.md ("Performance") for what each figure includes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import audit, db, server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
PROBE_SCALE = 0.001
SERVER_THREADS = 16


def log(message: str) -> None:
    print(message, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size of the data set (1 = full)")
    parser.add_argument("--quick", action="store_true", help="fewer samples, 10 s per load level")
    parser.add_argument("--samples", type=int, default=None, help="timed requests per page (default 30, quick 10)")
    parser.add_argument("--load-seconds", type=float, default=None, help="seconds per load level (default 60)")
    parser.add_argument("--levels", default="1,4,16,32", help="load test concurrency levels")
    parser.add_argument(
        "--skip", default="", help="comma list of phases to skip: probe,pages,load,memory,sync,aepp,impact,audit"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument(
        "--profile", default="", help="profile the page of this name with pyinstrument (HTML in the temp dir)"
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database and its manifest (for --reuse-db); drop it by hand"
    )
    parser.add_argument(
        "--reuse-db", default="", metavar="NAME", help="measure on a database kept by --keep-db instead of building one"
    )
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this text")
    parser.add_argument("--counts-only", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_probe(scale: float) -> dict[str, int]:
    """Query counts of every page on a much smaller data set (another process, another database)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        path = Path(handle.name)
    env = {key: value for key, value in os.environ.items() if key not in ("FLOWADMIN_BENCH_DB",)}
    subprocess.run(
        [sys.executable, "-m", "bench", "--scale", str(scale), "--counts-only", str(path)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    counts = json.loads(path.read_text())
    path.unlink()
    return counts


def json_lines(command: list[str], env: dict | None = None) -> list[dict]:
    process = subprocess.run(
        command, cwd=ROOT, env=env or os.environ.copy(), check=True, capture_output=True, text=True
    )
    return [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Stopped from outside: still stop the server and drop the database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    skip = {phase.strip() for phase in args.skip.split(",") if phase.strip()}
    samples = args.samples or (10 if args.quick else 30)
    load_seconds = args.load_seconds or (10 if args.quick else 60)
    started_at = dt.datetime.now(dt.UTC)
    results: dict = {"meta": {}, "targets": []}

    probe_counts = None
    if args.counts_only is None and not ({"probe", "pages"} & skip) and not args.only:
        log(f"query counts at scale {PROBE_SCALE} (a separate run) ...")
        probe_counts = run_probe(PROBE_SCALE)

    database = db.bench_database(reuse=args.reuse_db)
    port = server.free_port()
    os.environ.update(server.environment(port))
    os.environ.update(audit.environment(database.name))
    db.use(database)
    if not args.reuse_db:
        database.create()
    gunicorn = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from bench import data, pages, remote
        from flowadmin import documents
        from flowadmin.catalog.models import FlowSpec
        from flowadmin.changes.models import ChangeRequest

        log(f"database: {database.label}")
        if args.reuse_db:
            kept = json.loads(database.manifest_path.read_text())
            manifest, sizes, build_seconds = kept["manifest"], data.Sizes(**kept["sizes"]), kept["build_seconds"]
            args.scale = kept["scale"]
            log(f"reusing the data set at scale {args.scale}: {sizes}")
        else:
            call_command("migrate", verbosity=0)
            sizes = data.Sizes.at(args.scale)
            log(f"data set at scale {args.scale}: {sizes}")
            build_started = time.perf_counter()
            manifest = data.build(sizes, log=log).as_dict()
            build_seconds = round(time.perf_counter() - build_started, 1)
            if args.keep_db:
                kept = {
                    "manifest": manifest,
                    "sizes": sizes.__dict__,
                    "build_seconds": build_seconds,
                    "scale": args.scale,
                }
                database.manifest_path.write_text(json.dumps(kept))
        typical = FlowSpec.objects.get(sandbox__name=manifest["sandbox"], spec_id=manifest["typical_spec"])
        manifest["browse_specs"] = [
            spec_id for _t, spec_id, _n in (data.spec_layout(i, data.templates()) for i in range(6))
        ]
        manifest["preview_ids"] = "\n".join([*documents.source_ids(typical.document), manifest["connection_query"]])
        manifest["big_change"] = big_change_request(manifest)
        pending_spec_id = ChangeRequest.objects.get(pk=manifest["pending_change"]).spec_id
        pending = FlowSpec.objects.get(sandbox__name=manifest["sandbox"], spec_id=pending_spec_id)
        remote.seed(sandboxes={manifest["sandbox"]: [pending.document]})

        workers = os.cpu_count() or 1
        gunicorn = server.Server(
            port=port,
            workers=workers,
            threads=SERVER_THREADS,
            log_path=Path(tempfile.gettempdir()) / f"bench-gunicorn-{os.getpid()}.log",
        )
        gunicorn.start()
        log(f"gunicorn: {gunicorn.url}, {workers} gthread workers x {SERVER_THREADS} threads")

        if args.counts_only is not None:
            args.counts_only.write_text(json.dumps(pages.counts(manifest)))
            return 0

        results["meta"] = {
            "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
            "scale": args.scale,
            "database": database.vendor,
            "started_at": started_at.isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip(),
            "samples": samples,
        }
        results["dataset"] = {
            **sizes.__dict__,
            "flow_specs": FlowSpec.objects.count(),
            "build_seconds": build_seconds,
            "build_seconds_by_part": manifest["seconds"],
        }

        if "audit" not in skip:
            log("audit trail: full verification of the data set ...")
            results["audit"] = {"verify": audit.verify(log=log)}

        if "pages" not in skip:
            log(f"pages ({samples} samples each, after 3 warm-up requests):")
            floor, measured = pages.run(manifest, samples=samples, log=log, only=args.only)
            for page in measured:
                if probe_counts is not None:
                    page["queries_small_scale"] = probe_counts.get(page["name"])
                    page["queries_constant"] = page["queries_small_scale"] == page["queries"]
            results["floor"] = floor
            results["pages"] = measured
            if args.profile and args.profile != "sync":
                profile_page(manifest, args.profile)

        if "audit" not in skip:
            log("audit trail: the cost of a checkpoint after an apply ...")
            results["audit"]["checkpoint_write"] = audit.checkpoint_cost(manifest, samples=samples * 3, log=log)

        if "load" not in skip:
            manifest_path = Path(tempfile.gettempdir()) / f"bench-manifest-{os.getpid()}.json"
            manifest_path.write_text(json.dumps(manifest))
            log(f"load: {load_seconds:.0f} s at each of {args.levels} concurrent users ...")
            results["load"] = json_lines(
                [
                    sys.executable,
                    "-m",
                    "bench.load",
                    "--base",
                    gunicorn.url,
                    "--manifest",
                    str(manifest_path),
                    "--levels",
                    args.levels,
                    "--duration",
                    str(load_seconds),
                ]
            )
            for row in results["load"]:
                log(
                    f"  {row['concurrency']:3} users: {row['throughput_rps']:7.1f} req/s  p95 {row['p95_ms']:8.1f} ms  "
                    f"errors {row['errors']}"
                )
            manifest_path.unlink()

        if "memory" not in skip:
            log("memory of CSV exports ...")
            small = json_lines([sys.executable, "-m", "bench.memory", "--until", manifest["small_export_until"]])[0]
            large = json_lines([sys.executable, "-m", "bench.memory", "--until", manifest["export_until"]])[0]
            results["memory"] = {"export_small": small, "export_large": large}
            log(
                f"  {small['lines'] - 1:,} events: peak {small['peak_after_kb'] / 1024:.1f} MiB; "
                f"{large['lines'] - 1:,} events: peak {large['peak_after_kb'] / 1024:.1f} MiB"
            )

        if "sync" not in skip:
            log("sync: 200 sandboxes, 50 ms per emulator request ...")
            connection.close()
            command = [sys.executable, "-m", "bench.sync", "--server-pid", str(gunicorn.process.pid)]
            if args.profile == "sync":
                command += ["--profile", str(Path(tempfile.gettempdir()) / "flowadmin-profile-sync.txt")]
            results["sync"] = json_lines(command)[0]
            sync = results["sync"]
            log(
                f"  cold {sync['cold']['seconds']} s (ideal {sync['cold']['ideal_seconds']} s), warm "
                f"{sync['warm']['seconds']} s (ideal {sync['warm']['ideal_seconds']} s), one by one "
                f"~{sync['sequential_subset_cold']['extrapolated_seconds']} s cold, "
                f"~{sync['sequential_subset']['extrapolated_seconds']} s warm"
            )
            results.setdefault("memory", {})["sync_peak_kb"] = sync["peak_rss_kb"]

        if "aepp" not in skip:
            log("sync vs aepp: 3, 50 and 200 sandboxes, 50 ms per emulator request ...")
            connection.close()
            command = [sys.executable, "-m", "bench.aepp_compare", "--server-pid", str(gunicorn.process.pid)]
            command += ["--repeat", "1" if args.quick else "3"]
            results["aepp"] = json_lines(command)[0]
            for row in results["aepp"].get("sizes", []):
                log(
                    f"  {row['sandboxes']:3} sandboxes: flowadmin cold {row['cold']['seconds']} s, warm "
                    f"{row['warm']['seconds']} s; aepp {row['aepp']['seconds']} s"
                )
            if "skipped" in results["aepp"]:
                log(f"  skipped: {results['aepp']['skipped']}")

        if "impact" not in skip:
            log("blast radius: 1,000 dataflows in a sandbox, 50 ms per emulator request ...")
            connection.close()
            command = [sys.executable, "-m", "bench.impact", "--server-pid", str(gunicorn.process.pid)]
            results["impact"] = json_lines(command)[0]
            impact = results["impact"]
            log(
                f"  {impact['dependents']} dependent dataflows in {impact['reading']['requests']} request(s): "
                f"{impact['reading']['seconds']} s (ideal {impact['reading']['ideal_seconds']} s); every dataflow "
                f"unfiltered {impact['unfiltered']['requests']} request(s), {impact['unfiltered']['seconds']} s"
            )
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may not be set up yet
            pass
        if args.keep_db or args.reuse_db:
            log(f"kept: {database.label}; measure it again with --reuse-db {database.name}")
        else:
            database.drop()
            audit.remove(database.name)

    from bench.report import evaluate, table

    results["targets"] = evaluate(results)
    results["meta"]["seconds"] = round((dt.datetime.now(dt.UTC) - started_at).total_seconds())
    args.output.write_text(json.dumps(results, indent=2))
    print(table(results))
    log(f"results: {args.output}")
    return 0


def big_change_request(manifest: dict) -> int:
    """A pending change request on the 1 MB flow spec (its review pages are measured); made once per data set."""
    from django.contrib.auth import get_user_model

    from flowadmin import documents
    from flowadmin.catalog.models import FlowSpec
    from flowadmin.changes import services
    from flowadmin.changes.models import ChangeRequest

    sandbox, big = manifest["sandbox"], manifest["big_spec"]
    existing = ChangeRequest.objects.filter(sandbox=sandbox, spec_id=big, status="pending").first()
    if existing is not None:
        return existing.pk
    spec = FlowSpec.objects.get(sandbox__name=sandbox, spec_id=big)
    ids = [*documents.source_ids(spec.document), manifest["connection_query"]]
    author = get_user_model().objects.get(username=manifest["staff"])
    return services.change_request_propose(flow_spec=spec, source_ids=ids, reason="Bench", author=author).pk


def profile_page(manifest: dict, name: str) -> None:
    from pyinstrument import Profiler

    from bench import pages

    by_role = pages.clients(manifest)
    page = next(page for page in pages.page_list(manifest) if page.name == name)
    pages.request(by_role[page.user], page)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(10):
            pages.forget(page)  # a cold page is profiled cold
            pages.request(by_role[page.user], page)
    slug = "".join(char if char.isalnum() else "-" for char in name)
    path = Path(tempfile.gettempdir()) / f"flowadmin-profile-{slug}.html"
    path.write_text(profiler.output_html())
    log(f"  profile of {name!r}: {path}")
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    raise SystemExit(main())
