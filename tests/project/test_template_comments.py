"""A Django `{# ... #}` comment ends on the line it starts on: one spread over lines is printed on the page
as text (and, in a grid, pushes the next panel to a row of its own). Longer notes use `{% comment %}`."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_comment_runs_over_a_line():
    open_comments = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.rfind("{#") > line.rfind("#}")
    ]

    assert open_comments == []
