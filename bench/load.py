"""The load client, in a process of its own (``python -m bench.load``): threads with `requests` sessions
against the gunicorn server, a bounded mixed workload at each concurrency level.

Each virtual user is signed in twice (as staff and as auditor) and loops until the level's time is
up: browse 50 % (sandboxes, a flow spec list, a flow spec page), preview 25 % (htmx POST of the
typical spec with one id added), audit search 25 % (a random filter). Nothing is written: the
preview saves nothing. Prints one JSON object per level.

An error is an answer other than 200 or no answer. One case is sent again, as browsers do, and
counted apart: the server closed a kept-alive connection just as the request went out on it, so no
byte of an answer came back ("Connection aborted": RemoteDisconnected or a reset).
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import requests

TIMEOUT = 60


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=TIMEOUT).raise_for_status()
    token = session.cookies["csrftoken"]
    answer = session.post(
        base + "/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": base + "/accounts/login/"},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login of {username} failed: {answer.status_code}")
    return session


def operations(manifest: dict) -> list[tuple[str, float, object]]:
    sandboxes = [f"sandbox-{n:03d}" for n in range(min(10, manifest["sizes"]["sandboxes"]))]
    specs = manifest["browse_specs"]
    day = manifest["audit_day"]
    audit_filters = [
        {},
        {"sandbox": manifest["sandbox"]},
        {"spec_id": manifest["audit_spec_id"]},
        {"actor": manifest["audit_actor"]},
        {"action": "change.applied"},
        {"outcome": "failure"},
        {"since": day, "until": day},
        {"q": manifest["connection_query"]},
    ]
    preview_url = f"/sandboxes/{manifest['sandbox']}/flowspecs/{manifest['typical_spec']}/preview/"
    preview_body = {"source_connection_spec_ids": manifest["preview_ids"], "reason": "Onboard a new source."}

    def sandboxes_page(user, rng):
        return user["staff"].get(user["base"] + "/sandboxes/", timeout=TIMEOUT)

    def flowspec_list(user, rng):
        return user["staff"].get(f"{user['base']}/sandboxes/{rng.choice(sandboxes)}/flowspecs/", timeout=TIMEOUT)

    def flowspec_page(user, rng):
        url = f"{user['base']}/sandboxes/{rng.choice(sandboxes)}/flowspecs/{rng.choice(specs)}/"
        return user["staff"].get(url, timeout=TIMEOUT)

    def preview(user, rng):
        session = user["staff"]
        headers = {"HX-Request": "true", "X-CSRFToken": session.cookies["csrftoken"]}
        return session.post(user["base"] + preview_url, data=preview_body, headers=headers, timeout=TIMEOUT)

    def audit(user, rng):
        query = rng.choice(audit_filters)
        return user["auditor"].get(f"{user['base']}/audit/?{urlencode(query)}", timeout=TIMEOUT)

    return [
        ("sandboxes", 1 / 6, sandboxes_page),
        ("flow spec list", 1 / 6, flowspec_list),
        ("flow spec page", 1 / 6, flowspec_page),
        ("preview", 1 / 4, preview),
        ("audit search", 1 / 4, audit),
    ]


def level(base: str, manifest: dict, concurrency: int, duration: float) -> dict:
    ops = operations(manifest)
    names, weights = [op[0] for op in ops], [op[1] for op in ops]
    users = []
    for _ in range(concurrency):
        users.append(
            {
                "base": base,
                "staff": login(base, manifest["staff"], manifest["password"]),
                "auditor": login(base, manifest["auditor"], manifest["password"]),
            }
        )
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    resent = [0]  # requests sent again after the server closed their kept-alive connection
    per_op: dict[str, list[float]] = {name: [] for name in names}
    start_line = threading.Barrier(concurrency)

    def virtual_user(index: int) -> None:
        rng = random.Random(index)
        user = users[index]
        start_line.wait()
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            name, _weight, op = ops[rng.choices(range(len(ops)), weights=weights)[0]]
            started = time.perf_counter()
            retried = False
            for attempt in (1, 2):
                try:
                    answer = op(user, rng)
                    answer.content  # noqa: B018 - read it all
                    failure = None if answer.status_code == 200 else f"HTTP {answer.status_code}"
                except requests.ConnectionError as error:
                    failure = f"{type(error).__name__}: {str(error)[:160]}"
                    # A kept-alive connection the server closed as it was reused, before any answer:
                    # like a browser, send again once.
                    closed = "RemoteDisconnected" in str(error) or "ConnectionResetError" in str(error)
                    if attempt == 1 and "Connection aborted" in str(error) and closed:
                        retried = True
                        continue
                except requests.RequestException as error:
                    failure = f"{type(error).__name__}: {str(error)[:160]}"
                break
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                per_op[name].append(elapsed)
                if retried:
                    resent[0] += 1
                if failure:
                    errors[f"{name}: {failure}"] = errors.get(f"{name}: {failure}", 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(virtual_user, range(concurrency)))
    elapsed = time.perf_counter() - started
    for user in users:
        user["staff"].close()
        user["auditor"].close()

    def p(values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000, 1) if ordered else 0.0

    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": p(latencies, 0.5),
        "p95_ms": p(latencies, 0.95),
        "errors": sum(errors.values()),
        "resent_after_keepalive_close": resent[0],
        "error_kinds": errors,
        "p95_ms_by_operation": {name: p(values, 0.95) for name, values in per_op.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--levels", default="1,4,16,32")
    parser.add_argument("--duration", type=float, default=60)
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as handle:
        manifest = json.load(handle)
    for concurrency in [int(value) for value in args.levels.split(",")]:
        print(json.dumps(level(args.base, manifest, concurrency, args.duration)), flush=True)


if __name__ == "__main__":
    main()
