"""flowadmin's sync against Adobe's own Python client, aepp, in a process of its own
(``python -m bench.aepp_compare``): both over real HTTP to the emulator in gunicorn, every emulator
request delayed by a fault rule.

For each size, ``--repeat`` times: the emulator is seeded with that many sandboxes flowadmin has
never seen (``cmpN-R-NNN``, 5 flow specs each, the only sandboxes it lists); flowadmin syncs them
(`sandboxes_sync`: a first, cold sync, then a warm one that finds nothing changed) and aepp reads the
same sandboxes' flow specs one sandbox after another, as a user of aepp would: one authenticated
``FlowService``, its sandbox switched, ``getFlowSpecs()`` for each. The median of each is reported.
Neither side's IMS token is timed (flowadmin's is fetched before, aepp's when its ``FlowService`` is
made; that time is reported as ``auth_seconds``, its request counted in ``requests``).

aepp is pointed at the emulator by its own configuration: the IMS token URL in its config object and
the platform base in ``aepp.config.endpoints["global"]``, which its service classes read. Before
anything is sent, this process refuses every connection to an address outside the loopback range, so
a wrong setting fails here instead of reaching Adobe.

Prints one JSON object: {"sizes": [...], ...}, or {"skipped": reason} when aepp is not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import socket
import sys
import time
from urllib.parse import urlsplit

import django

SIZES = (3, 50, 200)
SPECS_PER_SANDBOX = 5
LOOPBACK_NAMES = {"localhost"}


class NotLoopbackError(OSError):
    pass


def is_loopback(host: str) -> bool:
    host = host.strip("[]").split("%", 1)[0]
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_only() -> None:
    """From now on this process connects to loopback addresses (and Unix sockets) only."""
    if getattr(socket.socket.connect, "loopback_only", False):
        return
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(str(address[0])):
            raise NotLoopbackError(f"refused to connect to {address[0]}: the bench talks to 127.0.0.1 only")

    def guarded_connect(sock, address):
        check(sock, address)
        return connect(sock, address)

    def guarded_connect_ex(sock, address):
        check(sock, address)
        return connect_ex(sock, address)

    guarded_connect.loopback_only = True
    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    # A proxy from the environment would be asked instead of 127.0.0.1 (and refused above).
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"


def require_loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if urlsplit(url).scheme not in ("http", "https") or not is_loopback(host):
        raise NotLoopbackError(f"{url} is not on this machine's loopback address")
    return url


def aepp_config(*, platform_url: str, ims_url: str, client_id: str, secret: str, org_id: str, scopes: str):
    """An aepp ``ConnectObject`` whose requests go to the emulator at ``platform_url`` / ``ims_url``."""
    import aepp.config
    from aepp.configs import ConnectObject

    aepp.config.endpoints["global"] = require_loopback(platform_url.rstrip("/"))
    config = ConnectObject(
        org_id=org_id, client_id=client_id, secret=secret, scopes=scopes, sandbox="prod", environment="prod"
    )
    settings = config.getConfigObject()  # the object itself: what AdobeRequest reads
    ims = require_loopback(ims_url.rstrip("/"))
    settings["imsEndpoint"] = ims
    settings["oauthTokenEndpointV1"] = ims + "/ims/token/v1"
    settings["oauthTokenEndpointV2"] = ims + "/ims/token/v3"
    config.imsEndpoint = ims
    config.oauthEndpointV1, config.oauthEndpointV2 = settings["oauthTokenEndpointV1"], settings["oauthTokenEndpointV2"]
    config.globalEndpoint = aepp.config.endpoints["global"]
    for url in (settings["oauthTokenEndpointV1"], settings["oauthTokenEndpointV2"], config.globalEndpoint):
        require_loopback(url)
    return config


def aepp_read(config, names: list[str], *, specs_each: int | None = None) -> dict:
    """aepp's ``FlowService`` (authenticated once) lists the flow specs of each of ``names`` in turn.

    A sandbox counts as failed when aepp raises, or lists other than ``specs_each`` flow specs (when given).
    """
    from aepp.flowservice import FlowService

    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # aepp prints its errors; stdout is this run's JSON
        service = FlowService(config=config)
    auth_seconds = time.perf_counter() - started
    require_loopback(service.endpoint)
    specs, failed = 0, 0
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        for name in names:
            service.connector.updateSandbox(name)
            try:
                items = service.getFlowSpecs()
            except (KeyError, TypeError, OSError, ValueError):  # aepp raises KeyError on an error answer
                failed += 1
                continue
            if specs_each is not None and len(items) != specs_each:
                failed += 1
            specs += len(items)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "auth_seconds": round(auth_seconds, 3),
        "sandboxes": len(names),
        "flow_specs": specs,
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES))
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="cold and warm syncs and aepp readings timed per size")
    parser.add_argument("--server-pid", type=int, default=0, help="gunicorn's master: its workers' CPU is counted")
    args = parser.parse_args()
    loopback_only()
    try:
        import aepp
    except ImportError:
        print(json.dumps({"skipped": "aepp is not installed (pip install -r bench/requirements.txt)"}))
        return
    django.setup()

    from django.conf import settings

    from bench import remote
    from bench.sync import server_cpu_seconds
    from flowadmin.catalog.services import sandboxes_sync
    from flowadmin.emulator.models import RequestLogEntry
    from flowadmin.flowservice import get_client

    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    config = aepp_config(
        platform_url=settings.PLATFORM_URL,
        ims_url=settings.IMS_URL,
        client_id=settings.ADOBE_CLIENT_ID,
        secret=settings.ADOBE_CLIENT_SECRET,
        org_id=settings.ADOBE_ORG_ID,
        scopes=settings.ADOBE_SCOPES,
    )
    require_loopback(settings.PLATFORM_URL)
    require_loopback(settings.IMS_URL)
    client = get_client()
    client.auth.token()  # flowadmin's IMS token is not part of its syncs (nor aepp's of its readings)
    control = remote.Control()

    def counted(run) -> dict:
        RequestLogEntry.objects.all().delete()
        load = os.getloadavg()[0]
        server_cpu, cpu = server_cpu_seconds(args.server_pid), time.process_time()
        result = run()
        result["cpu_seconds"] = round(time.process_time() - cpu, 3)  # of this process
        result["requests"] = RequestLogEntry.objects.count()
        result["server_cpu_seconds"] = round(server_cpu_seconds(args.server_pid) - server_cpu, 3)
        result["load_average_before"] = round(load, 2)
        return result

    def flowadmin_sync(names: list[str]) -> dict:
        started = time.perf_counter()
        results = sandboxes_sync(names=names)
        return {
            "seconds": round(time.perf_counter() - started, 3),
            "sandboxes": len(results),
            "failed": sum(1 for result in results if not result.ok),
        }

    def median(runs: list[dict]) -> dict:
        """The run of median time (of an even number, the slower of the two middle ones), with every time."""
        ordered = sorted(runs, key=lambda run: run["seconds"])
        return {**ordered[len(ordered) // 2], "runs": [run["seconds"] for run in runs]}

    rows = []
    for size in sizes:
        cold, warm, read = [], [], []
        for repetition in range(max(1, args.repeat)):
            # Sandboxes flowadmin has never seen, the only ones the emulator lists: each cold sync is a first one.
            prefix = f"cmp{size}-{repetition}"
            remote.seed(sandboxes=remote.sync_sandboxes(size, specs=SPECS_PER_SANDBOX, prefix=prefix))
            names = [f"{prefix}-{n:03d}" for n in range(size)]
            control.add_fault(action="delay", delay_ms=args.latency_ms)
            cold.append(counted(lambda names=names: flowadmin_sync(names)))
            warm.append(counted(lambda names=names: flowadmin_sync(names)))
            read.append(counted(lambda names=names: aepp_read(config, names, specs_each=SPECS_PER_SANDBOX)))
        control.clear_faults()
        row = {"sandboxes": size, "cold": median(cold), "warm": median(warm), "aepp": median(read)}
        row["ratio_cold"] = round(row["cold"]["seconds"] / row["aepp"]["seconds"], 2)
        row["ratio_warm"] = round(row["warm"]["seconds"] / row["aepp"]["seconds"], 2)
        rows.append(row)
    print(
        json.dumps(
            {
                "latency_ms": args.latency_ms,
                "concurrency": settings.FLOWADMIN_SYNC_CONCURRENCY,
                "aepp_version": aepp.__version__,
                "repeat": max(1, args.repeat),
                "sizes": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
