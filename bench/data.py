"""The data set of a run, written straight into the bench database.

At scale 1: 200 sandboxes x 50 cached flow specs (10,000, each with two versions and its attachment
index), one flow spec of about 1 MB, 1,000 change requests and 1,000,000 audit events. The audit
chain is valid: every event's search text is built by the audit app's `search_text_for` and its hash
by its `event_hash`, in seq order, exactly as `audit_record` would; only the inserts are batched
(COPY on PostgreSQL, executemany on SQLite). A signed checkpoint ends every 10,000 events (and one
20 events before the head), rows and files, signed with the run's key (`bench.audit`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction

from bench.audit import build_checkpoints
from flowadmin import documents
from flowadmin.accounts.roles import APPROVERS_GROUP, AUDITORS_GROUP, STAFF_GROUP, ensure_roles
from flowadmin.audit.chain import event_hash
from flowadmin.audit.models import GENESIS_HASH, AuditEvent
from flowadmin.audit.redaction import http_scrubbed
from flowadmin.audit.services import audit_search_terms_backfill, search_text_for
from flowadmin.catalog.models import ConnectionSpec, FlowSpec, FlowSpecSource, FlowSpecVersion, Sandbox
from flowadmin.catalog.remote_fields import attachments, document_fields
from flowadmin.changes.models import ChangeRequest, change_digest

SPECS_DIR = Path(settings.BASE_DIR) / "specs"
PASSWORD = "bench-password-1"  # noqa: S105 - users of a throw-away database
STAFF, APPROVER, AUDITOR = "bench-staff", "bench-approver", "bench-auditor"
ACTORS = [f"user{n:02d}" for n in range(20)]
EXTRA_SOURCES = 20  # connection specs per sandbox that no flow spec lists yet: what change requests add
BIG_SPEC_ID = "b16b16b1-0000-4000-8000-000000000001"
BIG_SPEC_BYTES = 1_000_000
GENERIC_STREAMING_ID = "e77fde5a-22a8-11ed-861d-0242ac120002"
NAMESPACE = uuid.UUID("6f1c2a4e-7d3b-4c55-9a8e-2b1f0c9d8e7a")
HISTORY = dt.timedelta(days=730)
BATCH = 5000
CHECKPOINT_EVERY = 10_000  # events between the data set's signed checkpoints
UNSIGNED_TAIL = 20  # events after the last checkpoint (what the schedule signs within 5 minutes)


@dataclass(frozen=True)
class Sizes:
    sandboxes: int
    specs_per_sandbox: int
    change_requests: int
    events: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        return cls(
            sandboxes=max(1, round(200 * scale)),
            specs_per_sandbox=50,
            change_requests=max(10, round(1000 * scale)),
            events=max(1000, round(1_000_000 * scale)),
        )


def sandbox_name(index: int) -> str:
    return f"sandbox-{index:03d}"


def _uuid(*parts) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


def extra_source_id(index: int) -> str:
    return _uuid("extra-source", index)


def templates() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((SPECS_DIR / "flowspecs").glob("*.json"))]


def connection_specs() -> list[dict]:
    return json.loads((SPECS_DIR / "connection_specs.json").read_text())["items"]


def _metadata(sandbox: str, created_ms: int) -> dict:
    return {
        "createdAt": created_ms,
        "updatedAt": created_ms + 86_400_000,
        "createdBy": "acp_foundation_connectors@AdobeID",
        "updatedBy": "acp_foundation_connectors@AdobeID",
        "createdClient": "acp_foundation_connectors",
        "updatedClient": "acp_foundation_connectors",
        "sandboxId": _uuid("sandbox", sandbox),
        "sandboxName": sandbox,
        "imsOrgId": settings.ADOBE_ORG_ID,
    }


def spec_document(template: dict, *, sandbox: str, spec_id: str, name: str, created_ms: int) -> dict:
    """A remote flow spec document as Adobe sends it: id, read-only metadata, then the body."""
    body = {key: value for key, value in copy.deepcopy(template).items() if key != "id"}
    body["name"] = name
    return {"id": spec_id, **_metadata(sandbox, created_ms), **body}


def spec_layout(index: int, template_list: list[dict]) -> tuple[dict, str, str]:
    """(template, spec id, name) of the ``index``-th flow spec of a sandbox (the same in every sandbox)."""
    template = template_list[index % len(template_list)]
    if index < len(template_list):
        return template, template["id"].lower(), template["name"]
    return template, _uuid("flowspec", index), f"{template['name']} {index:02d}"


def big_document(template: dict, *, sandbox: str) -> dict:
    """A flow spec of about 1 MB: 1,000 source connection spec ids and a large option schema."""
    document = spec_document(template, sandbox=sandbox, spec_id=BIG_SPEC_ID, name="LargeFlowSpec", created_ms=0)
    document["sourceConnectionSpecIds"] = [_uuid("big-source", n) for n in range(1000)]
    properties = document.setdefault("optionSpec", {}).setdefault("spec", {}).setdefault("properties", {})
    n = 0
    while len(json.dumps(document)) < BIG_SPEC_BYTES:
        for _ in range(200):
            properties[f"field{n:05d}"] = {
                "title": f"Field {n}",
                "description": f"Option number {n} of a large connector: what it means and which values it takes.",
                "type": "string",
                "enum": [f"value-{n}-{k}" for k in range(4)],
            }
            n += 1
    return document


# --- users, catalog, change requests -------------------------------------------------------------
def build_users() -> dict[str, object]:
    ensure_roles()
    users = {}
    for username, group in ((STAFF, STAFF_GROUP), (APPROVER, APPROVERS_GROUP), (AUDITOR, AUDITORS_GROUP)):
        user = get_user_model().objects.create_user(username=username, password=PASSWORD, email=f"{username}@bench")
        user.groups.add(Group.objects.get(name=group))
        users[username] = user
    return users


def build_catalog(sizes: Sizes) -> None:
    template_list = templates()
    conn_specs = connection_specs()
    now = dt.datetime.now(dt.UTC)
    sandboxes = Sandbox.objects.bulk_create(
        [
            Sandbox(
                name=sandbox_name(i),
                title=f"Sandbox {i:03d}",
                type="production" if i == 0 else "development",
                region="VA7",
                is_default=i == 0,
                last_synced_at=now - dt.timedelta(minutes=i % 50),
                last_sync_attempt_at=now - dt.timedelta(minutes=i % 50),
            )
            for i in range(sizes.sandboxes)
        ]
    )
    sandboxes = list(Sandbox.objects.order_by("name"))
    for sandbox in sandboxes:
        rows = [
            ConnectionSpec(sandbox=sandbox, spec_id=spec["id"].lower(), name=spec.get("name", ""), version="1.0")
            for spec in conn_specs
        ]
        rows += [
            ConnectionSpec(sandbox=sandbox, spec_id=extra_source_id(n), name=f"Bench source {n:02d}", version="1.0")
            for n in range(EXTRA_SOURCES)
        ]
        ConnectionSpec.objects.bulk_create(rows, batch_size=1000)
        specs = []
        for index in range(sizes.specs_per_sandbox):
            template, spec_id, name = spec_layout(index, template_list)
            created_ms = 1_661_212_800_000 + index * 86_400_000
            document = spec_document(template, sandbox=sandbox.name, spec_id=spec_id, name=name, created_ms=created_ms)
            specs.append(
                FlowSpec(
                    sandbox=sandbox, spec_id=spec_id, fetched_at=now, first_seen_at=now, **document_fields(document)
                )
            )
        if sandbox.pk == sandboxes[0].pk:
            document = big_document(template_list[0], sandbox=sandbox.name)
            specs.append(
                FlowSpec(
                    sandbox=sandbox, spec_id=BIG_SPEC_ID, fetched_at=now, first_seen_at=now, **document_fields(document)
                )
            )
        specs = FlowSpec.objects.bulk_create(specs, batch_size=500)
        versions = []
        for spec in specs:
            older = documents.with_source_ids(spec.document, documents.source_ids(spec.document)[:-1])
            versions.append(
                FlowSpecVersion(
                    flow_spec=spec,
                    document=older,
                    content_hash=documents.content_hash(older),
                    seen_at=now - HISTORY / 2,
                )
            )
            versions.append(
                FlowSpecVersion(flow_spec=spec, document=spec.document, content_hash=spec.content_hash, seen_at=now)
            )
        FlowSpecVersion.objects.bulk_create(versions, batch_size=500)
        FlowSpecSource.objects.bulk_create([row for spec in specs for row in attachments(spec)], batch_size=2000)


def build_change_requests(sizes: Sizes, users: dict) -> list[tuple[int, str, str, str, str]]:
    """Change requests spread over the sandboxes; one in twenty pending (one per flow spec at most).

    Returns (id, status, sandbox, spec id, added id) of each, for the audit events that tell their story.
    """
    template_list = templates()
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    specs = {
        (row.sandbox.name, row.spec_id): row
        for row in FlowSpec.objects.select_related("sandbox").filter(
            spec_id__in=[spec_layout(i, template_list)[1] for i in range(sizes.specs_per_sandbox)]
        )
    }
    staff, approver = users[STAFF], users[APPROVER]
    pending = max(1, sizes.change_requests // 20)
    rows = []
    for k in range(sizes.change_requests):
        sandbox = sandbox_name(k % sizes.sandboxes)
        spec = specs[(sandbox, spec_layout((k // sizes.sandboxes) % sizes.specs_per_sandbox, template_list)[1])]
        added = extra_source_id(k % EXTRA_SOURCES)
        if k < pending:
            status = ChangeRequest.Status.PENDING
        else:
            status = rng.choices(["applied", "rejected", "withdrawn", "failed"], weights=[70, 15, 10, 5])[0]
        base = spec.document
        proposed = documents.with_source_ids(base, [*documents.source_ids(base), added])
        base_hash = documents.content_hash(base)
        created = now - HISTORY * (1 - k / sizes.change_requests) - dt.timedelta(hours=1)
        decided = status != ChangeRequest.Status.PENDING
        rows.append(
            ChangeRequest(
                sandbox=sandbox,
                spec_id=spec.spec_id,
                flow_spec=spec,
                base_hash=base_hash,
                base_document=base,
                proposed_document=proposed,
                added_ids=[added],
                removed_ids=[],
                reason=f"Onboard bench source {k % EXTRA_SOURCES:02d} (ticket BENCH-{k:04d}).",
                author=staff,
                author_username=staff.username,
                status=status,
                reviewer=approver if decided and status != "withdrawn" else None,
                reviewer_username=approver.username if decided and status != "withdrawn" else "",
                review_comment="Looks right." if decided else "",
                created_at=created,
                decided_at=created + dt.timedelta(minutes=30) if decided else None,
                applied_at=created + dt.timedelta(minutes=31) if status == "applied" else None,
                attempts=1 if status in ("applied", "failed") else 0,
                error_title="Service Unavailable" if status == "failed" else "",
                error_status=503 if status == "failed" else None,
                digest=change_digest(
                    sandbox=sandbox, spec_id=spec.spec_id, base_hash=base_hash, added=[added], removed=[]
                ),
            )
        )
    created_rows = ChangeRequest.objects.bulk_create(rows, batch_size=200)
    return [(row.pk, row.status, row.sandbox, row.spec_id, row.added_ids[0]) for row in created_rows]


# --- the audit log -------------------------------------------------------------------------------
AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "sandbox",
    "spec_id",
    "change_request_id",
    "outcome",
    "before",
    "after",
    "patch",
    "http",
    "correlation_id",
    "detail",
    "search_text",
    "prev_hash",
    "hash",
)
JSON_COLUMNS = frozenset({"before", "after", "patch", "http"})
CR_STORY = {
    "applied": ["change.proposed", "change.approved", "change.apply_started", "change.applied"],
    "failed": ["change.proposed", "change.approved", "change.apply_started", "change.apply_failed"],
    "rejected": ["change.proposed", "change.rejected"],
    "withdrawn": ["change.proposed", "change.withdrawn"],
    "pending": ["change.proposed"],
}


class _Ids:
    """Fast, reproducible UUID strings."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _exchange(ids: _Ids, rng: random.Random, sandbox: str, what: str, status: int) -> dict:
    return {
        "method": "GET",
        "url": f"https://platform.adobe.io/data/foundation/flowservice/{what}",
        "status": status,
        "request_id": ids(),
        "duration_ms": rng.randint(40, 400),
        "attempt": 1,
    }


def audit_event_fields(sizes: Sizes, stories: list[tuple[int, str, str, str, str]], cr_docs: dict) -> Iterator[dict]:
    """The content of every event, in seq order (no seq, time or hashes yet). Makes no query (it runs inside a COPY)."""
    rng = random.Random(11)
    ids = _Ids(rng)
    template_list = templates()
    remote_pairs = []
    for n in range(EXTRA_SOURCES):
        for template in template_list:
            before = spec_document(
                template,
                sandbox=sandbox_name(0),
                spec_id=template["id"].lower(),
                name=template["name"],
                created_ms=1_661_212_800_000,
            )
            after = documents.with_source_ids(before, [*documents.source_ids(before), extra_source_id(n)])
            remote_pairs.append((before, after, documents.json_patch(before, after)))
    story_at: dict[int, tuple] = {}
    spacing = sizes.events // max(1, len(stories))
    for k, story in enumerate(stories):
        for step, action in enumerate(CR_STORY[story[1]]):
            story_at[k * spacing + 1 + step * 2] = (story, action)
    run_left, run_sandbox, correlation, actor = 0, 0, "", ""
    for index in range(sizes.events):
        planned = story_at.get(index)
        if planned is not None:
            (cr_id, _status, sandbox, spec_id, added), action = planned
            before, after = cr_docs[cr_id]
            with_documents = action in ("change.proposed", "change.applied")
            failed = action == "change.apply_failed"
            http = None
            if action in ("change.applied", "change.apply_failed"):
                http = {**_exchange(ids, rng, sandbox, f"flowSpecs/{spec_id}", 503 if failed else 200), "method": "PUT"}
            yield {
                "actor_username": APPROVER if action not in ("change.proposed", "change.withdrawn") else STAFF,
                "action": action,
                "sandbox": sandbox,
                "spec_id": spec_id,
                "change_request_id": cr_id,
                "outcome": "failure" if failed else "success",
                "before": before if with_documents else None,
                "after": after if with_documents else None,
                "patch": documents.json_patch(before, after) if with_documents else None,
                "http": http,
                "correlation_id": ids(),
                "detail": f"Change request #{cr_id}: add {added}." + (" Service Unavailable." if failed else ""),
            }
            continue
        if run_left == 0:
            run_left, run_sandbox, correlation = sizes.sandboxes, 0, ids()
            actor = "" if rng.random() < 0.7 else rng.choice(ACTORS)
        sandbox = sandbox_name(run_sandbox)
        run_sandbox, run_left = run_sandbox + 1, run_left - 1
        draw = rng.random()
        fields = {
            "actor_username": actor,
            "sandbox": sandbox,
            "spec_id": "",
            "change_request_id": None,
            "outcome": "success",
            "before": None,
            "after": None,
            "patch": None,
            "correlation_id": correlation,
        }
        if draw < 0.05:
            before, after, patch = remote_pairs[rng.randrange(len(remote_pairs))]
            fields.update(
                action="flowspec.changed_remotely",
                spec_id=before["id"],
                before=before,
                after=after,
                patch=patch,
                http=None,
                detail=f"{before['name']} changed outside flowadmin.",
            )
        elif draw < 0.095:
            fields.update(
                action="sandbox.sync_failed",
                outcome="failure",
                http=[_exchange(ids, rng, sandbox, "flowSpecs", 503)],
                detail="Service Unavailable: the Flow Service did not answer in time (request id " + ids() + ").",
            )
        else:
            specs = 50
            fields.update(
                action="sandbox.synced",
                http=[
                    _exchange(ids, rng, sandbox, "flowSpecs", 200),
                    _exchange(ids, rng, sandbox, "connectionSpecs", 200),
                ],
                detail=f"{specs} flow specs: 0 new, 0 changed, {specs} unchanged, 0 vanished; 49 connection specs.",
            )
        yield fields


def audit_rows(
    sizes: Sizes, stories, cr_docs: dict, *, start: dt.datetime, heads: list | None = None
) -> Iterator[tuple]:
    """Every event as a row of `AUDIT_COLUMNS`, chained: search text and hash as `audit_record` makes them.

    `heads` collects (seq, hash, time) of the events that signed checkpoints end at (`checkpoint_seqs`).
    """
    step = HISTORY / sizes.events
    previous = GENESIS_HASH
    signed = checkpoint_seqs(sizes.events)
    for index, fields in enumerate(audit_event_fields(sizes, stories, cr_docs)):
        event = AuditEvent(
            seq=index + 1,
            at=start + step * index,
            http=http_scrubbed(fields.pop("http")),
            search_text=search_text_for(
                detail=fields["detail"],
                sandbox=fields["sandbox"],
                spec_id=fields["spec_id"],
                actor_username=fields["actor_username"],
                correlation_id=fields["correlation_id"],
                before=fields["before"],
                patch=fields["patch"],
            ),
            prev_hash=previous,
            **fields,
        )
        event.hash = previous = event_hash(event)
        if heads is not None and event.seq in signed:
            heads.append((event.seq, event.hash, event.at))
        yield tuple(
            (json.dumps(getattr(event, column)) if getattr(event, column) is not None else None)
            if column in JSON_COLUMNS
            else getattr(event, column)
            for column in AUDIT_COLUMNS
        )


def _insert_postgresql(rows: Iterator[tuple], progress: Callable[[int], None]) -> None:
    columns = ", ".join(AUDIT_COLUMNS)
    done = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy_in:
        for row in rows:
            copy_in.write_row(row)
            done += 1
            if done % 100_000 == 0:
                progress(done)


def _insert_sqlite(rows: Iterator[tuple], progress: Callable[[int], None]) -> None:
    columns = ", ".join(AUDIT_COLUMNS)
    marks = ", ".join(["%s"] * len(AUDIT_COLUMNS))
    sql = f"INSERT INTO audit_event ({columns}) VALUES ({marks})"  # noqa: S608 - constant column names
    done = 0
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(tuple(value.isoformat() if isinstance(value, dt.datetime) else value for value in row))
            if len(batch) == BATCH:
                cursor.executemany(sql, batch)
                done += len(batch)
                batch = []
                if done % 100_000 == 0:
                    progress(done)
        if batch:
            cursor.executemany(sql, batch)


def checkpoint_seqs(events: int) -> set[int]:
    """Where the data set's signed checkpoints end: every CHECKPOINT_EVERY events, the last a little before the head
    (the audit page checks the events after it)."""
    return {*range(CHECKPOINT_EVERY, events - UNSIGNED_TAIL, CHECKPOINT_EVERY), events - UNSIGNED_TAIL}


def build_audit(
    sizes: Sizes, stories, *, progress: Callable[[int], None] = lambda n: None, heads: list | None = None
) -> dt.datetime:
    """Write the chain; returns the time of event 1 (event n is at start + (n - 1) * HISTORY / events)."""
    start = (dt.datetime.now(dt.UTC) - HISTORY).replace(microsecond=0)
    cr_docs = {
        row["pk"]: (documents.put_body(row["base_document"]), documents.put_body(row["proposed_document"]))
        for row in ChangeRequest.objects.values("pk", "base_document", "proposed_document")
    }
    rows = audit_rows(sizes, stories, cr_docs, start=start, heads=heads)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _insert_postgresql(rows, progress)
        else:
            _insert_sqlite(rows, progress)
    return start


def settle() -> None:
    """What autovacuum would have done to tables filled over months: statistics, visibility map, GIN pending list."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


@dataclass(frozen=True)
class Manifest:
    """What the measurements need to know about the data set (also handed to the load client)."""

    sizes: dict
    password: str
    staff: str
    approver: str
    auditor: str
    sandbox: str
    typical_spec: str
    big_spec: str
    name_query: str
    connection_query: str
    pending_change: int
    audit_actor: str
    audit_spec_id: str
    audit_day: str
    audit_cursor: int
    export_until: str
    export_rows: int
    small_export_until: str
    seconds: dict

    def as_dict(self) -> dict:
        return asdict(self)


def build(sizes: Sizes, *, log: Callable[[str], None] = print) -> Manifest:
    seconds = {}
    started = time.perf_counter()
    with transaction.atomic():
        users = build_users()
        build_catalog(sizes)
    seconds["catalog"] = round(time.perf_counter() - started, 1)
    log(f"  catalog: {FlowSpec.objects.count()} flow specs in {seconds['catalog']} s")
    started = time.perf_counter()
    with transaction.atomic():
        stories = build_change_requests(sizes, users)
    seconds["change_requests"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    heads: list = []
    start = build_audit(
        sizes,
        stories,
        progress=lambda n: log(f"  audit: {n} events, {time.perf_counter() - started:.0f} s"),
        heads=heads,
    )
    seconds["audit"] = round(time.perf_counter() - started, 1)
    log(f"  audit: {sizes.events} events in {seconds['audit']} s")
    started = time.perf_counter()
    signed = build_checkpoints(heads)
    seconds["audit_checkpoints"] = round(time.perf_counter() - started, 1)
    log(f"  audit: {signed} signed checkpoints (rows and files) in {seconds['audit_checkpoints']} s")
    started = time.perf_counter()
    terms = audit_search_terms_backfill()  # what audit_record writes beside each event
    seconds["audit_search_terms"] = round(time.perf_counter() - started, 1)
    log(f"  audit: {terms} ids indexed in {seconds['audit_search_terms']} s")
    started = time.perf_counter()
    settle()
    seconds["vacuum"] = round(time.perf_counter() - started, 1)
    step = HISTORY / sizes.events
    export_rows = min(100_000, sizes.events)
    middle = start + step * (sizes.events // 2)
    pending = next(story[0] for story in stories if story[1] == "pending")
    return Manifest(
        sizes=asdict(sizes),
        password=PASSWORD,
        staff=STAFF,
        approver=APPROVER,
        auditor=AUDITOR,
        sandbox=sandbox_name(0),
        typical_spec=GENERIC_STREAMING_ID,
        big_spec=BIG_SPEC_ID,
        name_query="Streaming",
        connection_query=extra_source_id(0),
        pending_change=pending,
        audit_actor=ACTORS[3],
        audit_spec_id=GENERIC_STREAMING_ID,
        audit_day=middle.date().isoformat(),
        audit_cursor=sizes.events // 2,
        export_until=(start + step * (export_rows - 1)).isoformat(),
        export_rows=export_rows,
        small_export_until=(start + step * 999).isoformat(),
        seconds=seconds,
    )
