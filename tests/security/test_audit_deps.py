"""`make audit-deps` fails on a found vulnerability and only warns when nothing could be audited."""

import importlib.util

from django.conf import settings

spec = importlib.util.spec_from_file_location("audit_deps", settings.BASE_DIR / "scripts" / "audit_deps.py")
audit_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit_deps)

CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
SKIPPED = {"name": "gunicorn", "skip_reason": "Dependency not found on PyPI and could not be audited: gunicorn"}
VULNERABLE = {
    "name": "requests",
    "version": "2.0.0",
    "vulns": [{"id": "PYSEC-2000-1", "fix_versions": ["2.31.0"], "description": "..."}],
}


def test_a_known_vulnerability_fails_and_names_the_package_and_the_fix():
    status, lines = audit_deps.classify({"dependencies": [CLEAN, VULNERABLE, SKIPPED]})
    assert status == audit_deps.VULNERABLE == 1
    assert "VULNERABLE requests==2.0.0: PYSEC-2000-1 (fixed in 2.31.0)" in lines


def test_nothing_audited_is_reported_as_such_not_as_clean():
    status, lines = audit_deps.classify({"dependencies": [SKIPPED]})
    assert status == audit_deps.NOT_AUDITED == 2
    assert lines[0].startswith("NOT AUDITED")


def test_clean_dependencies_pass_and_skipped_ones_are_named():
    status, lines = audit_deps.classify({"dependencies": [CLEAN, SKIPPED]})
    assert status == audit_deps.CLEAN == 0
    assert lines == [
        "WARNING: 1 dependencies could not be audited: gunicorn",
        "1 dependencies audited: no known vulnerabilities.",
    ]


def test_an_unreachable_index_is_not_audited(monkeypatch):
    monkeypatch.setattr(audit_deps, "reachable", lambda: "https://pypi.org/pypi/pip/json: connection refused")
    assert audit_deps.main() == audit_deps.NOT_AUDITED
