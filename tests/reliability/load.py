"""A bounded load run against flowadmin under gunicorn on loopback: N users for S seconds, each a thread
with its own signed-in session, mixing browse, live preview, propose, approve and audit search.

    figures = run(dashboard_url, users=30, seconds=60)
    print("\n".join(figures.report()))

`test_load.py` runs it (the full run: ``FLOWADMIN_LOAD_SECONDS=60 .venv/bin/pytest tests/reliability/test_load.py``)
against two servers, as in production: the dashboard and, standing in for Adobe, a second server running
the emulator (a dashboard calling an emulator in its own process would queue behind its own requests).
The run stops by itself at the deadline; every request has a timeout.
"""

from __future__ import annotations

import html
import random
import re
import statistics
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests.reliability.helpers import ACME_EVENTS, ACME_LOYALTY, CRM_ID, DATA_LAKE, REST_ID, STREAMING_ID, ZOHO_CRM
from tests.reliability.servers import User

SANDBOXES = ("dev", "stage")
# Each flow spec toggles its own connection spec id, so proposals never collide on an id.
TOGGLES = {STREAMING_ID: ACME_EVENTS, REST_ID: ACME_LOYALTY, CRM_ID: ZOHO_CRM}
TOGGLES["9753525b-82c7-4dce-8a9b-5ccfce2b9876"] = DATA_LAKE  # CloudStorageToAEP
ROLES = ("staff",) * 3 + ("approver",) * 1 + ("auditor",) * 1  # of every five users
AUDIT_QUERIES = ("", "?action=change.applied", "?q=Onboard", "?outcome=failure", "?sandbox=dev&action=sandbox.synced")
TEXTAREA = re.compile(r'<textarea name="source_connection_spec_ids"[^>]*>(.*?)</textarea>', re.S)
DETAIL_LINK = re.compile(r'href="/changes/(\d+)/"')
DIGEST = re.compile(r'name="digest" value="([0-9a-f]{64})"')


@dataclass
class Figures:
    """What the run measured (thread-safe appends)."""

    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response: requests.Response | None, seconds: float, error: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if response is None:
                self.transport_errors.append(f"{kind}: {error}")
                return
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{kind} {response.request.method} {response.url}: {response.status_code}")

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def report(self) -> list[str]:
        seconds = (self.ended or time.monotonic()) - self.started
        lines = [
            f"{self.requests} requests in {seconds:.1f} s ({self.requests / seconds:.1f}/s); "
            f"statuses {dict(sorted(self.statuses.items()))}; 5xx: {len(self.server_errors)}; "
            f"no answer: {len(self.transport_errors)}",
            f"outcomes: {dict(sorted(self.outcomes.items()))}",
            *[f"no answer: {error}" for error in self.transport_errors[:5]],
            *[f"server error: {error}" for error in self.server_errors[:5]],
            "kind             count   p50 ms   p95 ms   max ms",
        ]
        for kind, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            lines.append(
                f"{kind:<15} {len(values):>6} {statistics.median(values) * 1000:>8.0f} "
                f"{p95 * 1000:>8.0f} {ordered[-1] * 1000:>8.0f}"
            )
        return lines


class Visitor:
    """One simulated person; ``step()`` does one thing a person of that role does."""

    def __init__(self, url: str, role: str, figures: Figures, rng: random.Random):
        self.user = User(url, role)
        self.role = role
        self.figures = figures
        self.rng = rng

    def _timed(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.monotonic()
        try:
            send = self.user.get if method == "GET" else self.user.post
            response = send(path, **kwargs)
        except requests.RequestException as error:
            self.figures.record(kind, None, time.monotonic() - started, f"{method} {path}: {error!r}"[:300])
            return None
        self.figures.record(kind, response, time.monotonic() - started)
        return response

    def step(self) -> None:
        getattr(self, f"_{self.role}")()

    def _staff(self) -> None:
        sandbox = self.rng.choice(SANDBOXES)
        spec_id, toggled = self.rng.choice(list(TOGGLES.items()))
        self._timed("browse", "GET", "/sandboxes/")
        self._timed("browse", "GET", f"/sandboxes/{sandbox}/flowspecs/?q={self.rng.choice(['Stream', 'AEP', ''])}")
        edit = f"/sandboxes/{sandbox}/flowspecs/{spec_id}/edit/"
        page = self._timed("browse", "GET", edit)
        if page is None or page.status_code != 200:
            return
        ids = [line for line in html.unescape(TEXTAREA.search(page.text).group(1)).split() if line]
        ids = [i for i in ids if i != toggled] if toggled in ids else [*ids, toggled]
        form = {"source_connection_spec_ids": "\n".join(ids), "reason": "Onboard (load run)"}
        self._timed("preview", "POST", edit.replace("/edit/", "/preview/"), data=form, page=edit,
                    headers={"HX-Request": "true"})  # fmt: skip
        if self.rng.random() < 0.5:
            response = self._timed("propose", "POST", edit, data=form, page=edit)
            if response is not None:
                self.figures.outcomes["proposed" if response.status_code == 302 else "proposal refused"] += 1

    def _approver(self) -> None:
        queue = self._timed("browse", "GET", "/changes/?show=pending")
        pending = sorted(set(DETAIL_LINK.findall(queue.text))) if queue is not None else []
        if not pending:
            return
        pk = self.rng.choice(pending)
        detail = self._timed("browse", "GET", f"/changes/{pk}/")
        digest = DIGEST.search(detail.text) if detail is not None else None
        if digest is None:
            return
        response = self._timed("approve", "POST", f"/changes/{pk}/approve/", data={"digest": digest.group(1)},
                               page=f"/changes/{pk}/")  # fmt: skip
        if response is not None and response.status_code == 302:
            shown = self.user.get(response.headers["Location"]).text
            for word in ("approved and applied", "was not applied", "applying it failed", "nothing was done"):
                if word in shown:
                    self.figures.outcomes[f"approve: {word}"] += 1

    def _auditor(self) -> None:
        query = self.rng.choice(AUDIT_QUERIES)
        self._timed("audit search", "GET", f"/audit/{query}")
        self._timed("audit search", "GET", f"/api/audit/{query}")


APPLIED_OUTCOME = "approve: approved and applied"


def run(
    url: str, *, users: int, seconds: float, seed: int = 7, applied_at_least: int = 0, longest: float = 0
) -> Figures:
    """``users`` visitors (roles in ROLES' proportions) act until ``seconds`` have passed, and on (up to
    ``longest`` seconds) until ``applied_at_least`` approvals were applied: on a busy machine the first
    seconds may go to logins and proposals."""
    figures = Figures()
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="load-login") as pool:  # logins are slow hashes
        visitors = list(
            pool.map(lambda n: Visitor(url, ROLES[n % len(ROLES)], figures, random.Random(seed + n)), range(users))
        )
    figures.started = time.monotonic()
    deadline = figures.started + seconds
    last = figures.started + max(seconds, longest)

    def going() -> bool:
        now = time.monotonic()
        return now < deadline or (now < last and figures.outcomes[APPLIED_OUTCOME] < applied_at_least)

    def act(visitor: Visitor) -> None:
        while going():
            visitor.step()
            time.sleep(visitor.rng.uniform(0.05, 0.3))  # a person's pause between clicks
        visitor.user.close()

    with ThreadPoolExecutor(max_workers=users, thread_name_prefix="load-user") as pool:
        list(pool.map(act, visitors))
    figures.ended = time.monotonic()
    return figures


# The dashboard's own record of what it applied and what it tried: compared with the remote's request log.
APPLIED = """
from flowadmin.changes.models import ChangeRequest
from flowadmin.audit.models import AuditEvent
from flowadmin.catalog.models import FlowSpec
puts = []
for event in AuditEvent.objects.filter(action__in=["change.applied", "change.apply_failed", "change.reconciled"]):
    puts += [x["request_id"] for x in (event.http if isinstance(event.http, list) else [event.http or {}])
             if x.get("method") == "PUT"]
out = {
    "hashes": {f"{s.sandbox.name}/{s.spec_id}": s.content_hash for s in FlowSpec.objects.select_related("sandbox")},
    "statuses": dict(__import__("collections").Counter(ChangeRequest.objects.values_list("status", flat=True))),
    "applied": ChangeRequest.objects.filter(status="applied").count(),
    "attempts": AuditEvent.objects.filter(action="change.apply_started").count(),
    "put_request_ids": puts,
}
"""
