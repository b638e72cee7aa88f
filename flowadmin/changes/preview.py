"""What a proposal would do, shown before anything is saved: pure functions over documents.

Used by the live preview (edit page) and by a change request's page: the ids added and removed with
their names, the full-document diff of the PUT body, its JSON Patch, and the exact request as a
curl command with the secrets masked.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowadmin import documents
from flowadmin.derived import Derived
from flowadmin.flowservice.client import PreparedRequest, prepared_put

LARGE_DOCUMENT_LINES = 2000  # above this, the whole document and the curl command are shown on request


@dataclass(frozen=True)
class NamedId:
    spec_id: str
    name: str = ""
    known: bool = False


@dataclass(frozen=True)
class DocumentDiff:
    """What a proposal does to its document, whatever its ids are named: the same for the same documents.

    Kept in the documents cache every process shares (`flowadmin.derived`) without ``line_diff``, the
    documents' matched lines: a process that read it there has no ``whole`` (`DocumentChange.full_diff`)."""

    diff: list[documents.DiffLine]  # hunks with 3 lines of context
    patch: list[dict]
    patch_json: str
    document_lines: int  # of the proposed document, printed
    line_diff: documents.LineDiff | None = None

    @functools.cached_property
    def whole(self) -> list[documents.DiffLine | documents.FoldedRun] | None:
        return self.line_diff.whole() if self.line_diff is not None else None

    def __getstate__(self) -> dict:
        return {name: self.__dict__[name] for name in ("diff", "patch", "patch_json", "document_lines")}


@dataclass(frozen=True)
class DocumentChange:
    """The difference between a base document and the proposed one, as the pages show it.

    ``key``: names both documents' content, when the caller knows it (what the pages derive from the
    change is then kept by it); ``remake``: the `DocumentDiff` computed again, for what a diff read from
    the shared cache lacks (the whole document)."""

    added: list[NamedId]
    removed: list[NamedId]
    document: DocumentDiff
    key: str = ""
    remake: Callable[[], DocumentDiff] | None = None

    @property
    def diff(self) -> list[documents.DiffLine]:
        return self.document.diff

    @property
    def patch(self) -> list[dict]:
        return self.document.patch

    @property
    def patch_json(self) -> str:
        return self.document.patch_json

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.removed)

    @functools.cached_property
    def full_diff(self) -> list[documents.DiffLine | documents.FoldedRun]:
        """The whole document with the changed lines marked, long unchanged runs folded (shown on request)."""
        whole = self.document.whole
        return whole if whole is not None or self.remake is None else self.remake().whole

    @property
    def document_lines(self) -> int:
        return self.document.document_lines

    @property
    def is_large(self) -> bool:
        """Too long to send with every keystroke's preview: its whole text comes on request."""
        return self.document_lines > LARGE_DOCUMENT_LINES


def named(ids, names: dict[str, str]) -> list[NamedId]:
    return [NamedId(spec_id=spec_id, name=names.get(spec_id, ""), known=spec_id in names) for spec_id in ids]


def document_diff(*, base: dict, proposed: dict, base_key: str = "") -> DocumentDiff:
    """Diff and patch between the PUT bodies of ``base`` and ``proposed`` (metadata left out).

    ``base_key``: the base's content hash, when the caller knows it; the printed base is then kept
    for the next preview of the same document (each keystroke of a live preview).
    """
    old = documents.put_body(base)
    new = documents.shared_with(documents.put_body(proposed), old)
    patch = documents.json_patch(old, new)
    line_diff = documents.LineDiff(old, new, old_text=documents.pretty_text_kept(old, base_key))
    return DocumentDiff(
        diff=line_diff.hunks(),
        patch=patch,
        patch_json=json.dumps(patch, indent=2, ensure_ascii=False),
        document_lines=len(line_diff.new_lines),
        line_diff=line_diff,
    )


def document_change(
    *, base: dict, proposed: dict, added, removed, names: dict[str, str], base_key: str = ""
) -> DocumentChange:
    """`document_diff` with the ids added and removed, named (``names``: id -> name)."""
    diff = document_diff(base=base, proposed=proposed, base_key=base_key)
    return DocumentChange(added=named(added, names), removed=named(removed, names), document=diff)


_kept_diffs: Derived[DocumentDiff] = Derived("document-diff", 16)


def document_change_kept(
    *, key: tuple[str, ...], documents_of: Callable[[], tuple[dict, dict]], added, removed, names, base_key: str = ""
) -> DocumentChange:
    """`document_change` of the base and proposed documents ``documents_of()`` returns, whose diff is kept
    under ``key`` (naming both documents' content), by the process and in the documents cache every
    process shares: a request's page shown again anywhere decodes neither."""

    def make() -> DocumentDiff:
        base, proposed = documents_of()
        return document_diff(base=base, proposed=proposed, base_key=base_key)

    diff = _kept_diffs.get_or_make(key, make)
    return DocumentChange(
        added=named(added, names), removed=named(removed, names), document=diff, key=":".join(key), remake=make
    )


def put_request(*, platform_url: str, org_id: str, sandbox: str, spec_id: str, document: dict) -> PreparedRequest:
    """The PUT that applying ``document`` sends (the client's own `prepared_put`), secrets masked."""
    return prepared_put(
        platform_url=platform_url, org_id=org_id, sandbox=sandbox, spec_id=spec_id, body=documents.put_body(document)
    )


def curl_command(*, platform_url: str, org_id: str, sandbox: str, spec_id: str, document: dict) -> str:
    """The PUT as a copyable curl command: real URL, org id and sandbox; token and API key masked."""
    return put_request(
        platform_url=platform_url, org_id=org_id, sandbox=sandbox, spec_id=spec_id, document=document
    ).curl()


def proposed_document(base: dict, ids) -> dict[str, Any]:
    """``base`` with only its source connection spec ids replaced."""
    return documents.with_source_ids(base, list(ids))


@dataclass(frozen=True)
class ProposalPreview:
    """Everything the live preview shows for one state of the edit form."""

    ids: Any  # ids.IdList: the lines with their problems and notes
    change: DocumentChange
    proposed: dict
    sandbox: str
    spec_id: str
    platform_url: str
    org_id: str
    text_key: str = ""  # a digest of the base's stored text, when the caller knows it: the curl command is kept

    @property
    def ready(self) -> bool:
        """The list has no problems and changes something: there is a request to show."""
        return bool(self.ids.ok and self.ids.changes_anything)

    @functools.cached_property
    def curl(self) -> str:
        """The PUT as a curl command; "" while the list has problems or changes nothing."""
        if not self.ready:
            return ""
        where = {"platform_url": self.platform_url, "org_id": self.org_id, "sandbox": self.sandbox}
        where["spec_id"] = self.spec_id
        if not self.text_key:
            return curl_command(**where, document=self.proposed)
        key = (self.text_key, tuple(self.ids.ids), *where.values())
        return _kept_curls.get_or_make(key, lambda: curl_command(**where, document=self.proposed))


_kept_curls: Derived[str] = Derived("curl", 8)  # a large document's curl command is 1 MB of text


def proposal_preview(
    *,
    base: dict,
    parsed,
    names: dict[str, str],
    sandbox: str,
    spec_id: str,
    platform_url: str,
    org_id: str,
    base_key: str = "",
    text_key: str = "",
) -> ProposalPreview:
    """The preview of ``parsed`` (an `ids.IdList`) applied to ``base``; nothing is saved or sent.

    ``base_key``: the base's content hash (its diff with the proposal is then kept by it and the ids,
    `document_change_kept`); ``text_key``: a digest of its stored text (`ProposalPreview.curl`)."""
    proposed = proposed_document(base, parsed.ids)
    ids = {"added": parsed.added, "removed": parsed.removed, "names": names, "base_key": base_key}
    if base_key:
        key = (base_key, documents.text_digest("\n".join(parsed.ids)))
        change = document_change_kept(key=key, documents_of=lambda: (base, proposed), **ids)
    else:
        change = document_change(base=base, proposed=proposed, **ids)
    return ProposalPreview(
        ids=parsed,
        change=change,
        proposed=proposed,
        sandbox=sandbox,
        spec_id=spec_id,
        platform_url=platform_url,
        org_id=org_id,
        text_key=text_key,
    )
