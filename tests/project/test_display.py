"""The display helpers every table row uses: times, outcome badges, clipped text."""

import datetime as dt

import pytest
from django.template import engines
from django.utils import timezone


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_a_recent_time_reads_just_now_with_the_exact_time_for_machines_and_on_hover():
    now = timezone.now()
    local = timezone.localtime(now)

    html = render("{% time_ago when %}", when=now)

    assert html == (
        f'<time datetime="{local.isoformat()}" title="{local:%Y-%m-%d %H:%M:%S} {local.tzname()}">just now</time>'
    )


def test_an_older_time_reads_how_long_ago():
    html = render("{% time_ago when %}", when=timezone.now() - dt.timedelta(minutes=5, seconds=3))

    assert html.endswith(">5\xa0minutes ago</time>")


def test_no_time_reads_never_or_what_the_page_says():
    assert render("{% time_ago when %}", when=None) == '<span class="muted">never</span>'
    assert render('{% time_ago when empty="unknown" %}', when=None) == '<span class="muted">unknown</span>'
    assert render("{% time_ago when empty=text %}", when=None, text="<b>") == '<span class="muted">&lt;b&gt;</span>'


@pytest.mark.parametrize(
    "status, colour",
    [
        ("success", "ok"),
        ("applied", "ok"),
        ("completed", "ok"),
        ("failure", "bad"),
        ("failed", "bad"),
        ("rejected", "bad"),
        ("stopped", "bad"),
        ("unknown", "warn"),
        ("pending", "warn"),
        ("stale", "warn"),
        ("applying", "warn"),
        ("withdrawn", "muted"),
    ],
)
def test_statuses_and_outcomes_read_as_coloured_badges(status, colour):
    assert render("{% status_badge s %}", s=status) == f'<span class="badge badge-{colour}">{status}</span>'


def test_a_badge_escapes_what_it_shows():
    assert render("{% status_badge s %}", s="<b>") == '<span class="badge badge-muted">&lt;b&gt;</span>'


def test_clip_cuts_long_text_with_an_ellipsis_and_still_escapes():
    assert render("{{ text|clip:5 }}", text="abcdef") == "abcd…"
    assert render("{{ text|clip:6 }}", text="abcdef") == "abcdef"
    assert render("{{ text|clip:10 }}", text="<script>") == "&lt;script&gt;"


@pytest.mark.parametrize("name, pk", [("changes:detail", 8), ("audit:event", 123456), ("rollouts:detail", 1)])
def test_pk_url_gives_what_the_url_tag_gives(name, pk):
    assert render(f"{{% pk_url '{name}' pk %}}", pk=pk) == render(f"{{% url '{name}' pk %}}", pk=pk)


def test_spec_ref_shows_the_name_with_a_short_copyable_id_and_escapes_both():
    from flowadmin.catalog.names import Names
    from flowadmin.templatetags.display import sandbox_ref, spec_ref

    spec_id = "04e0fcbb-1c55-4c8d-9f1e-3a7b1d2c4e5f"
    names = Names(specs={spec_id: "Zoho <CRM>"}, sandboxes={"prod": "Production"})

    shown = str(spec_ref(spec_id.upper(), names))
    unknown = str(spec_ref("<b>", names))

    assert "Zoho &lt;CRM&gt;" in shown
    assert f'title="{spec_id.upper()}">04E0FCBB…</code>' in shown
    assert f'data-copy="{spec_id.upper()}"' in shown
    assert "<code>&lt;b&gt;</code>" in unknown
    assert str(sandbox_ref("prod", names)) == 'Production <span class="muted">(prod)</span>'
    assert str(sandbox_ref("dev", names)) == "dev"


def test_listed_ids_names_and_notes_are_escaped_one_by_one_even_holding_a_nul_character():
    from django.utils.safestring import mark_safe

    from flowadmin.catalog.selectors import ConnectionSpecRef

    refs = [ConnectionSpecRef("<i>\x00</i>"), ConnectionSpecRef("a&b", "<n>", known=True)]

    assert render("{{ refs|connection_spec_items }}", refs=refs) == (
        '<li><code>&lt;i&gt;\x00&lt;/i&gt;</code> <span class="badge badge-warn">unknown</span> '
        '<span class="muted">not a connection spec of this sandbox</span></li>'
        "<li><code>a&amp;b</code> &lt;n&gt;</li>"
    )
    assert render("{{ notes|list_items }}", notes=["<a>", "b&\x00"]) == "<li>&lt;a&gt;</li><li>b&amp;\x00</li>"
    assert (
        render("{{ notes|list_items }}", notes=["<a>", mark_safe("<b>ok</b>")])
        == "<li>&lt;a&gt;</li><li><b>ok</b></li>"
    )


def test_a_derived_fragment_is_rendered_once_per_key_and_every_time_without_one():
    from flowadmin import documents

    documents.printed_forget()
    source = "{% derived 'test-fragment' key %}{{ value }}{% endderived %}"
    renders = []

    def value(text):
        return lambda: renders.append(text) or text

    assert render(source, key="k1", value=value("<first>")) == "&lt;first&gt;"
    assert render(source, key="k1", value=value("second")) == "&lt;first&gt;", "the key names what it shows"
    assert render(source, key="k2", value=value("third")) == "third"
    assert render(source, key="", value=value("fourth")) == "fourth"
    assert render(source, key="", value=value("fifth")) == "fifth"
    assert renders == ["<first>", "third", "fourth", "fifth"]
