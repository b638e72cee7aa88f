"""The cache as files: one pretty JSON document per sandbox and flow spec, never outside the target."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from flowadmin.catalog.models import FlowSpec

OUTSIDE_TARGET = "Refusing to write {path}: it is outside {root}."
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120


class ExportError(Exception):
    pass


def safe_filename(text: str, *, fallback: str) -> str:
    """``text`` as one harmless path segment: no separators, no leading dots, not empty."""
    name = _UNSAFE.sub("_", text).strip("._-")[:MAX_NAME].strip("._-")
    return name or fallback


def contained_path(root: Path, *parts: str) -> Path:
    """``root / parts``, refusing any result that resolves outside ``root``."""
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base) or path == base:
        raise ExportError(OUTSIDE_TARGET.format(path=path, root=base))
    return path


@dataclass(frozen=True)
class ExportedFile:
    sandbox: str
    spec_id: str
    path: Path


def flowspecs_export(*, directory: Path, sandbox: str | None = None) -> list[ExportedFile]:
    """Write every cached, current flow spec to ``directory/<sandbox>/<spec name or id>.json``.

    Sorted keys, two-space indent, trailing newline, files written in a stable order; a spec whose
    name is shared with another of its sandbox gets its id appended. Vanished specs are left out.
    """
    specs = (
        FlowSpec.objects.filter(vanished_at__isnull=True).select_related("sandbox").order_by("sandbox__name", "spec_id")
    )
    if sandbox is not None:
        specs = specs.filter(sandbox__name=sandbox)
    plan: dict[tuple[str, str], list[FlowSpec]] = {}
    for spec in specs:
        folder = safe_filename(spec.sandbox.name, fallback=f"sandbox-{spec.sandbox_id}")
        stem = safe_filename(spec.name, fallback=safe_filename(spec.spec_id, fallback=f"spec-{spec.pk}"))
        plan.setdefault((folder, stem), []).append(spec)
    written = []
    for (folder, stem), same_name in sorted(plan.items()):
        for spec in same_name:
            filename = stem if len(same_name) == 1 else f"{stem}--{safe_filename(spec.spec_id, fallback=str(spec.pk))}"
            path = contained_path(directory, folder, f"{filename}.json")
            path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(spec.document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            path.write_text(text, encoding="utf-8")
            written.append(ExportedFile(sandbox=spec.sandbox.name, spec_id=spec.spec_id, path=path))
    return written
