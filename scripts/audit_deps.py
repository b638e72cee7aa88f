"""Audit the pinned requirements for known vulnerabilities with pip-audit (`make audit-deps`).

Exit status: 0 no known vulnerability in what could be audited; 1 vulnerabilities found (they are
listed); 2 nothing could be audited (the package index or its vulnerability data cannot be reached,
or it knows none of the pinned versions). CI fails on 1 and reports 2 loudly without failing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ["requirements.txt", "requirements-dev.txt"]
PROBE_URL = "https://pypi.org/pypi/pip/json"
PROBE_TIMEOUT = 10
AUDIT_TIMEOUT = 900

CLEAN, VULNERABLE, NOT_AUDITED = 0, 1, 2


def reachable(url: str = PROBE_URL) -> str:
    """ "" when the vulnerability data can be reached, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:  # noqa: S310 (a fixed https URL)
            return "" if response.status == 200 else f"{url} answered {response.status}"
    except (OSError, ValueError) as error:
        return f"{url}: {error}"


def classify(report: dict) -> tuple[int, list[str]]:
    """(exit status, lines to print) for pip-audit's JSON report."""
    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    lines = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            lines.append(f"VULNERABLE {dep['name']}=={dep.get('version', '?')}: {vuln.get('id')} (fixed in {fixed})")
    if vulnerable:
        lines.append(f"{len(vulnerable)} of {audited} audited dependencies have known vulnerabilities.")
        return VULNERABLE, lines
    if dependencies and audited == 0:
        lines.append(f"NOT AUDITED: none of the {len(dependencies)} pinned dependencies is known to the index's")
        lines.append(f"vulnerability data (first: {skipped[0]['skip_reason']}).")
        return NOT_AUDITED, lines
    if skipped:
        names = ", ".join(dep["name"] for dep in skipped)
        lines.append(f"WARNING: {len(skipped)} dependencies could not be audited: {names}")
    lines.append(f"{audited} dependencies audited: no known vulnerabilities.")
    return CLEAN, lines


def main() -> int:
    problem = reachable()
    if problem:
        print(f"NOT AUDITED: the vulnerability data cannot be reached ({problem}).")
        return NOT_AUDITED
    pip_audit = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or "pip-audit"
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "report.json"
        command = [pip_audit, "--format", "json", "--output", str(output), "--progress-spinner", "off"]
        for name in REQUIREMENTS:
            command += ["--requirement", str(ROOT / name)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=AUDIT_TIMEOUT, check=False)
        try:
            report = json.loads(output.read_text())
        except (OSError, ValueError):
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
            print(f"NOT AUDITED: pip-audit gave no report (exit {result.returncode}):\n{tail}")
            return NOT_AUDITED
    status, lines = classify(report)
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
