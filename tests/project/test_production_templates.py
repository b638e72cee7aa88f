import subprocess
import sys

from tests.project.test_health_and_security import ROOT, _production_env

FRAGMENTS = ["changes/edit.html#preview", "catalog/flowspecs.html#results", "audit/index.html#results"]


def test_production_settings_serve_the_htmx_fragments_from_the_template_cache():
    code = (
        "from django.template.loader import get_template; "
        f"[get_template(name) for name in {FRAGMENTS!r}]; "
        "from django.template import engines; "
        "print(type(engines['django'].engine.template_loaders[0].loaders[0]).__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.template.loaders.cached"]
