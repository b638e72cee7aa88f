"""Small display helpers that tables use on every row, built in (settings ``TEMPLATES``: no ``{% load %}``).

    {% time_ago sandbox.last_synced_at %}               "5 minutes ago", exact time on hover
    {% time_ago spec.remote_updated_at empty="unknown" %}
    {% time_exact event.at %}                           "2026-12-06 23:14:37 UTC", "5 minutes ago" beneath as a hint
    {% status_badge cr.status %}                        a status or an outcome as a coloured badge
    {{ event.detail|clip:140 }}                         at most 140 characters, "…" when cut
    {% pk_url "changes:detail" cr.pk %}                 {% url %} of a URL whose one argument is an <int:pk>
    {% diff_block lines label="Base to proposed" %}     a line diff as one <pre>, built in one pass
    {{ document_text|pre_text }}                       text for a <pre>: <, > and & escaped, quotes left as they are
    <ul>{{ notes|list_items }}</ul>                     each item an escaped <li>, in one pass
    <ul>{{ refs|connection_spec_items }}</ul>           a flow spec's connection spec ids with their names
    {% short_id spec.spec_id %}                         the id's first 8 characters, the whole id on hover
    {% provider spec.provider_id %}                     the provider's name (id on hover), or the id when unknown
    {% panels "flowspec" spec %}                        what other apps registered for that slot (flowadmin.panels)
    {% spec_ref cr.spec_id names %}                     a flow or connection spec by name, its id short and copyable
    {% sandbox_ref cr.sandbox names %}                  a sandbox by title, with its name (``names``: names_for)

Tags, not included templates: an include renders a template of its own each time, which on a
50-row table costs more than the rest of the page.
"""

import datetime
import functools
import html

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from flowadmin.catalog.names import NO_NAMES
from flowadmin.catalog.names import short_id as id_short
from flowadmin.catalog.providers import provider_name
from flowadmin.documents import DiffLine, FoldedRun
from flowadmin.panels import registered as registered_panels

register = template.Library()

# Change request, rollout and audit outcome words: green when done, red when failed, amber while
# something is under way or not known; anything else (withdrawn, draft, ...) is muted.
BADGE_CLASSES = {
    **dict.fromkeys(("applied", "completed", "success"), "badge-ok"),
    **dict.fromkeys(("failed", "failure", "rejected", "stopped"), "badge-bad"),
    **dict.fromkeys(("pending", "stale", "applying", "unknown"), "badge-warn"),
}


@register.simple_tag
def time_ago(value, empty: str = "never") -> str:
    """A time as people read it ("5 minutes ago", "just now"), the exact time on hover and for machines."""
    if not value:
        return format_html('<span class="muted">{}</span>', empty or "never")
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    since = timesince(value)
    # What the date filter's "c" and "Y-m-d H:i:s T" give, without its format parser on every row.
    return format_html(
        '<time datetime="{}" title="{} {}">{}</time>',
        local.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S"),
        local.tzname() or "",
        "just now" if since.startswith("0") else f"{since} ago",
    )


@register.simple_tag
def time_exact(value, empty: str = "never") -> str:
    """The exact time in UTC, for records people compare and cite (the audit log); the relative time beneath."""
    if not value:
        return format_html('<span class="muted">{}</span>', empty or "never")
    utc = value.astimezone(datetime.UTC) if timezone.is_aware(value) else value
    since = timesince(value)
    return format_html(
        '<time datetime="{}">{} UTC</time><span class="hint">{}</span>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        "just now" if since.startswith("0") else f"{since} ago",
    )


@register.simple_tag
def short_id(value, empty: str = "—") -> str:
    """A long id (a UUID) as its first 8 characters and "…", the whole id on hover; short ids as they are."""
    if not value:
        return format_html('<span class="muted">{}</span>', empty)
    text = str(value)
    short = id_short(text)
    if short == text:
        return format_html("<code>{}</code>", text)
    return format_html('<code title="{}">{}</code>', text, short)


@register.simple_tag
def provider(provider_id, empty: str = "—") -> str:
    """A provider by name (`specs/providers.json`), its id on hover; the bare id when the table lacks it."""
    if not provider_id:
        return format_html('<span class="muted">{}</span>', empty)
    name = provider_name(provider_id)
    if not name:
        return format_html("<code>{}</code>", provider_id)
    return format_html('<span title="{}">{}</span>', provider_id, name)


@register.simple_tag(takes_context=True)
def panels(context, slot: str, subject) -> str:
    """The panels registered for ``slot`` (`flowadmin.panels`), rendered for ``subject`` in order."""
    request = context.get("request")
    return mark_safe("".join(panel.render(request, subject) for panel in registered_panels(slot)))  # noqa: S308


@register.simple_tag
def spec_ref(spec_id, names=None, empty: str = "—") -> str:
    """A flow spec or connection spec id with its name (from ``names``, one lookup for the page): the
    name, then the id cut short (whole on hover) and a Copy button; the whole id when no name is known."""
    if not spec_id:
        return format_html('<span class="muted">{}</span>', empty)
    name = (names or NO_NAMES).spec(spec_id)
    if not name:
        return format_html(
            '<span class="spec-ref"><code>{}</code> <button type="button" class="link" data-copy="{}" '
            'aria-label="Copy the id {}">Copy</button></span>',
            spec_id,
            spec_id,
            spec_id,
        )
    return format_html(
        '<span class="spec-ref">{} <code title="{}">{}</code> <button type="button" class="link" data-copy="{}" '
        'aria-label="Copy the id of {}">Copy</button></span>',
        name,
        spec_id,
        id_short(spec_id),
        spec_id,
        name,
    )


@register.simple_tag
def sandbox_ref(name, names=None, empty: str = "—") -> str:
    """A sandbox by its title with its name beside it, or its name alone when it has no other title."""
    if not name:
        return format_html('<span class="muted">{}</span>', empty)
    title = (names or NO_NAMES).sandbox_title(name)
    if not title:
        return format_html("{}", name)
    return format_html('{} <span class="muted">({})</span>', title, name)


@register.simple_tag
def status_badge(status: str) -> str:
    """A change request's or a rollout's status, or an audit event's outcome, as a coloured badge."""
    return format_html('<span class="badge {}">{}</span>', BADGE_CLASSES.get(status, "badge-muted"), status)


_PK_PLACEHOLDER = 987_654_321_987_654_321


@functools.cache
def _pk_url_parts(name: str, prefix: str) -> tuple[str, str]:
    # ``prefix``: the script prefix the URL is reversed under (part of the cache key).
    head, tail = reverse(name, args=[_PK_PLACEHOLDER]).split(str(_PK_PLACEHOLDER))
    return head, tail


@register.simple_tag
def pk_url(name: str, pk) -> str:
    """What ``{% url name pk %}`` gives for an integer ``pk``, reversed once per URL name instead of on every row."""
    head, tail = _pk_url_parts(name, get_script_prefix())
    return f"{head}{int(pk)}{tail}"


@register.filter(is_safe=True)
def clip(value, length: int) -> str:
    """``value`` cut to ``length`` characters, the last one "…" when something was cut."""
    text = str(value)
    length = int(length)
    return text if len(text) <= length else text[: max(0, length - 1)] + "…"


def _pre_escape(text: str) -> str:
    """Text inside a <pre>: only <, > and & need escaping (a JSON document's quotes stay as they are,
    which keeps a large document's page about as large as the document)."""
    return html.escape(text, quote=False)


@register.filter(is_safe=True)
def pre_text(value) -> str:
    return mark_safe(_pre_escape(str(value)))  # noqa: S308 - escaped above


@register.filter(is_safe=True)
def list_items(values) -> str:
    """``<ul>{{ notes|list_items }}</ul>``: each value an escaped <li> (HTML marked safe kept as it is),
    in one pass: a list of 2,000 lines' notes costs a template loop more than the rest of its page."""
    values = list(values)
    if any(hasattr(value, "__html__") for value in values):
        items = [_escaped(value) for value in values]
    else:
        items = _all_escaped([str(value) for value in values])
    return mark_safe("".join(f"<li>{item}</li>" for item in items))  # noqa: S308 - every item escaped


@register.filter(is_safe=True)
def connection_spec_items(refs) -> str:
    """``<ul>{{ refs|connection_spec_items }}</ul>``: each `ConnectionSpecRef` an <li>, its id and name, or
    "unknown" when the sandbox has no such connection spec; in one pass (a flow spec may list 1,000)."""
    ids = _all_escaped([ref.spec_id for ref in refs])
    names = _all_escaped([ref.name or "(no name)" for ref in refs])
    parts = [
        f"<li><code>{spec_id}</code> {name if ref.known else _UNKNOWN_SPEC}</li>"
        for ref, spec_id, name in zip(refs, ids, names, strict=True)
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every value escaped


def _all_escaped(texts: list[str]) -> list[str]:
    """Each of ``texts`` escaped, in one call for all of them (one call each costs more than the escaping)."""
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:  # a text holds the separator itself
        return [html.escape(text) for text in texts]
    return html.escape(joined).split("\0")


_UNKNOWN_SPEC = (
    '<span class="badge badge-warn">unknown</span> <span class="muted">not a connection spec of this sandbox</span>'
)


def _escaped(value) -> str:
    """`conditional_escape` without its lazy-string wrapper (a call each costs more than the escaping)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


@register.simple_tag
def diff_block(lines, label: str = "", empty: str = "") -> str:
    """A line diff (`flowadmin.documents.DiffLine` items) as one <pre class="diff">, each
    line a span marked by its kind (CSS adds a sign beside the colours); ``empty`` when there are none.
    A whole document's diff (`LineDiff.whole`) also holds `FoldedRun` items: each becomes a <details>
    announcing its number of unchanged lines, its text inside (shown when opened, with or without
    JavaScript), between the <pre> blocks of the lines around it.

    Built in one pass: a whole document's diff has tens of thousands of lines, and one template
    row per line costs most of such a page's time."""
    if not lines:
        return format_html('<p class="muted">{}</p>', empty or "No difference.")
    label = html.escape(label or "Line diff")
    if not any(isinstance(line, FoldedRun) for line in lines):
        return mark_safe(f'<pre class="diff" aria-label="{label}">{_diff_lines(lines)}</pre>')  # noqa: S308
    parts = [f'<div class="diff-whole" role="group" aria-label="{label}">']
    shown: list = []
    for item in [*lines, None]:
        if isinstance(item, DiffLine):
            shown.append(item)
            continue
        if shown:
            parts.append(f'<pre class="diff">{_diff_lines(shown)}</pre>')
            shown = []
        if item is not None:
            parts.append(_folded(item))
    parts.append("</div>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


def _diff_lines(lines) -> str:
    return "".join(f'<span class="line {line.kind}">{_pre_escape(line.text)}</span>' for line in lines)


def _folded(run: FoldedRun) -> str:
    """Unchanged lines folded: their number in the summary, their text (escaped in one piece) inside."""
    count = len(run.lines)
    where = f"line {run.new_no:,}" if count == 1 else f"lines {run.new_no:,} to {run.new_last:,}"
    summary = f"{count:,} unchanged line{'' if count == 1 else 's'} ({where})"
    text = _pre_escape("\n".join(run.lines))
    return (
        f'<details class="diff-fold"><summary>{summary}</summary>'
        f'<pre class="diff"><span class="line ctx fold-text">{text}</span></pre></details>'
    )


@register.filter
def spec_name(names, spec_id) -> str:
    """``{{ names|spec_name:event.spec_id }}``: the name ``names`` knows for the id, or ""."""
    return (names or NO_NAMES).spec(spec_id)
