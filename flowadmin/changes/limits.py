"""The live previews' guard against a pasted list far over the maximum: refused before the body is read.

A live preview is sent with every pause in typing, and its textarea stays in the browser. A body
larger than `FLOWADMIN_MAX_IDS` lines could be is answered with one sentence, before anything reads
the form: parsing 5 MB of form-encoded text costs more than a whole ordinary page, and Django's CSRF
check would parse it to look for its token. The submit and the preview without JavaScript read the
form as usual, so the page keeps what was typed and says the same thing line by line.

    @live_preview(heading="Preview", heading_id="preview-heading")      # one id list
    def preview_view(request, ...): ...

`PreviewBodyLimitMiddleware` (before ``CsrfViewMiddleware`` in ``MIDDLEWARE``) does the refusing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat

from flowadmin.changes.ids import BYTES_PER_LINE, TOO_LARGE, max_ids

FORM_ROOM = 64 * 1024  # the reason, the token and the other fields


@dataclass(frozen=True)
class LivePreview:
    heading: str  # the preview's own heading, which the refusal repeats
    heading_id: str
    lists: int = 1  # id lists the form holds


def live_preview(*, heading: str, heading_id: str, lists: int = 1):
    """Marks a view as a live preview of a form with ``lists`` id lists (see the module docstring)."""

    def mark(view):
        view.live_preview = LivePreview(heading=heading, heading_id=heading_id, lists=lists)
        return view

    return mark


def body_size(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def preview_too_large(request: HttpRequest, preview: LivePreview) -> HttpResponse | None:
    """The answer for a live preview whose body is larger than its lists of at most the maximum could be."""
    limit = max_ids()
    most = preview.lists * limit * BYTES_PER_LINE
    size = body_size(request)
    if size <= most + FORM_ROOM:
        return None
    message = TOO_LARGE.format(size=filesizeformat(size), limit=limit, most=filesizeformat(most))
    context = {"message": message, "heading": preview.heading, "heading_id": preview.heading_id}
    response = render(request, "includes/preview_refused.html", context)
    response["HX-Reswap"] = "innerHTML"  # inside the preview, which keeps its triggers
    response["Vary"] = "HX-Request"
    return response


class PreviewBodyLimitMiddleware:
    """Refuses an htmx POST to a `live_preview` view of a signed-in user whose body is too large."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        preview = getattr(view_func, "live_preview", None)
        if preview is None or request.method != "POST" or request.headers.get("HX-Request") != "true":
            return None
        if not request.user.is_authenticated:
            return None  # the login check answers
        return preview_too_large(request, preview)
