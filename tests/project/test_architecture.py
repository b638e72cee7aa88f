"""The layers docs/architecture.md describes, kept by the imports themselves.

Read from the source (every ``import`` and ``from ... import``, at any depth of a module), so an import
inside a function counts as much as one at the top.
"""

import ast
from pathlib import Path

from django.conf import settings

PACKAGE = Path(settings.BASE_DIR) / "flowadmin"
# Packages that know nothing of the product: the HTTP client, and the document's domain rules.
SELF_CONTAINED = ("flowadmin.flowservice", "flowadmin.documents")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    found = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts}
    return {
        name: {target for target in imports_of(path, name) if target in modules and target != name}
        for name, path in modules.items()
    }


def test_the_http_client_and_the_document_rules_import_nothing_of_the_product():
    leaks = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        for package in SELF_CONTAINED
        if name == package or name.startswith(package + ".")
        for target in targets
        if target.startswith("flowadmin.") and not target.startswith(package)
    ]
    assert leaks == []


def test_the_modules_of_flowadmin_import_each_other_in_no_circle():
    edges = graph()
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []
