"""The emulator's side of a run: its documents (written through its models) and its fault rules (over HTTP)."""

from __future__ import annotations

import requests
from django.conf import settings
from django.db import transaction

from bench import data
from flowadmin.emulator.models import (
    ConnectionSpecDocument,
    FaultRule,
    FlowSpecDocument,
    RemoteSandbox,
    RequestLogEntry,
)
from flowadmin.emulator.services import document_with_metadata

TIMEOUT = 30


def _sandbox(name: str, position: int) -> RemoteSandbox:
    return RemoteSandbox(name=name, title=name.title(), type="development", position=position)


def seed(*, sandboxes: dict[str, list[dict]]) -> None:
    """Replace the emulator's sandboxes with ``sandboxes`` ({name: [flow spec documents]}), each with every
    connection spec of `specs/`."""
    connection_specs = data.connection_specs()
    with transaction.atomic():
        RequestLogEntry.objects.all().delete()
        FaultRule.objects.all().delete()
        FlowSpecDocument.objects.all().delete()
        ConnectionSpecDocument.objects.all().delete()
        RemoteSandbox.objects.all().delete()
        rows = RemoteSandbox.objects.bulk_create([_sandbox(name, n) for n, name in enumerate(sandboxes)])
        flow, conn = [], []
        for sandbox in rows:
            for document in sandboxes[sandbox.name]:
                row = FlowSpecDocument(
                    sandbox=sandbox, spec_id=document["id"].lower(), updated_at_ms=document["updatedAt"]
                )
                row.document = document
                flow.append(row)
            for spec in connection_specs:
                row = ConnectionSpecDocument(sandbox=sandbox, spec_id=spec["id"].lower())
                row.document = document_with_metadata(
                    spec, spec_id=row.spec_id, metadata=data._metadata(sandbox.name, 1_640_995_200_000)
                )
                conn.append(row)
        FlowSpecDocument.objects.bulk_create(flow, batch_size=500)
        ConnectionSpecDocument.objects.bulk_create(conn, batch_size=1000)


def sync_sandboxes(count: int, specs: int = 5, prefix: str = "sync") -> dict[str, list[dict]]:
    """``count`` sandboxes ``<prefix>-NNN``, each with ``specs`` flow specs (one of each template first)."""
    template_list = data.templates()
    result = {}
    for n in range(count):
        name = f"{prefix}-{n:03d}"
        result[name] = []
        for index in range(specs):
            template, spec_id, spec_name = data.spec_layout(index, template_list)
            result[name].append(
                data.spec_document(
                    template, sandbox=name, spec_id=spec_id, name=spec_name, created_ms=1_661_212_800_000
                )
            )
    return result


class Control:
    """The emulator's `_faults` and `_log` endpoints, with a token of its own IMS."""

    def __init__(self):
        self.base = settings.PLATFORM_URL
        self.session = requests.Session()
        answer = self.session.post(
            settings.IMS_URL + "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": settings.ADOBE_CLIENT_ID,
                "client_secret": settings.ADOBE_CLIENT_SECRET,
                "scope": settings.ADOBE_SCOPES,
            },
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {answer.json()['access_token']}",
                "x-api-key": settings.ADOBE_CLIENT_ID,
                "x-gw-ims-org-id": settings.ADOBE_ORG_ID,
            }
        )

    def add_fault(self, **rule) -> dict:
        answer = self.session.post(self.base + "/_faults", json=rule, timeout=TIMEOUT)
        answer.raise_for_status()
        return answer.json()

    def clear_faults(self) -> None:
        self.session.delete(self.base + "/_faults", timeout=TIMEOUT).raise_for_status()

    def clear_log(self) -> None:
        self.session.delete(self.base + "/_log", timeout=TIMEOUT).raise_for_status()

    def log(self) -> list[dict]:
        answer = self.session.get(self.base + "/_log", timeout=TIMEOUT)
        answer.raise_for_status()
        return answer.json()["requests"]
