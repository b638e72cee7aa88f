"""What a proposal would do, shown before anything is saved: pure functions over documents.

Used by the live preview (edit page) and by a change request's page: the ids added and removed with
their names, the full-document diff of the PUT body, its JSON Patch, and the exact request as a
curl command with the secrets masked.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from flowadmin.flowservice import documents
from flowadmin.flowservice.client import FLOW_SERVICE_PATH

MASK = "***"
FULL_CONTEXT = 1_000_000  # lines of context that show the whole document


@dataclass(frozen=True)
class NamedId:
    spec_id: str
    name: str = ""
    known: bool = False


@dataclass(frozen=True)
class DocumentChange:
    """The difference between a base document and the proposed one, as the pages show it."""

    added: list[NamedId]
    removed: list[NamedId]
    diff: list[documents.DiffLine]  # hunks with 3 lines of context
    full_diff: list[documents.DiffLine]  # the whole document with the changed lines marked
    patch: list[dict]
    patch_json: str

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)


def named(ids, names: dict[str, str]) -> list[NamedId]:
    return [NamedId(spec_id=spec_id, name=names.get(spec_id, ""), known=spec_id in names) for spec_id in ids]


def document_change(*, base: dict, proposed: dict, added, removed, names: dict[str, str]) -> DocumentChange:
    """Diff and patch between the PUT bodies of ``base`` and ``proposed`` (metadata left out)."""
    old, new = documents.put_body(base), documents.put_body(proposed)
    patch = documents.json_patch(old, new)
    return DocumentChange(
        added=named(added, names),
        removed=named(removed, names),
        diff=documents.line_diff(old, new),
        full_diff=documents.line_diff(old, new, context=FULL_CONTEXT),
        patch=patch,
        patch_json=json.dumps(patch, indent=2, ensure_ascii=False),
    )


def request_body(document: dict) -> str:
    """The PUT body exactly as the client serialises it."""
    return json.dumps(documents.put_body(document), ensure_ascii=False)


def curl_command(*, platform_url: str, org_id: str, sandbox: str, spec_id: str, document: dict) -> str:
    """The PUT as a copyable curl command: real URL, org id and sandbox; token and API key masked."""
    url = f"{platform_url.rstrip('/')}{FLOW_SERVICE_PATH}/flowSpecs/{spec_id}"
    headers = [
        f"Authorization: Bearer {MASK}",
        f"x-api-key: {MASK}",
        f"x-gw-ims-org-id: {org_id}",
        f"x-sandbox-name: {sandbox.strip().lower()}",
        "Content-Type: application/json",
        "Accept: application/json",
    ]
    parts = [f"curl -X PUT {shlex.quote(url)}"]
    parts += [f"  -H {shlex.quote(header)}" for header in headers]
    parts.append(f"  --data-raw {shlex.quote(request_body(document))}")
    return " \\\n".join(parts)


def proposed_document(base: dict, ids) -> dict[str, Any]:
    """``base`` with only its source connection spec ids replaced."""
    return documents.with_source_ids(base, list(ids))


@dataclass(frozen=True)
class ProposalPreview:
    """Everything the live preview shows for one state of the edit form."""

    ids: Any  # ids.IdList: the lines with their problems and notes
    change: DocumentChange
    proposed: dict
    curl: str  # "" while the list has problems or changes nothing

    @property
    def ready(self) -> bool:
        return bool(self.curl)


def proposal_preview(
    *, base: dict, parsed, names: dict[str, str], sandbox: str, spec_id: str, platform_url: str, org_id: str
) -> ProposalPreview:
    """The preview of ``parsed`` (an `ids.IdList`) applied to ``base``; nothing is saved or sent."""
    proposed = proposed_document(base, parsed.ids)
    change = document_change(base=base, proposed=proposed, added=parsed.added, removed=parsed.removed, names=names)
    curl = ""
    if parsed.ok and parsed.changes_anything:
        curl = curl_command(
            platform_url=platform_url, org_id=org_id, sandbox=sandbox, spec_id=spec_id, document=proposed
        )
    return ProposalPreview(ids=parsed, change=change, proposed=proposed, curl=curl)
