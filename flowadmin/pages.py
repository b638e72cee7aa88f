"""How every htmx-aware view answers: the whole page, or the fragment of it that htmx asked for.

render_page_or_fragment(request, "catalog/flowspecs.html", "results", context)
    -> the page for a browser (and for htmx restoring history), ``template#results`` for htmx,
       marked ``Vary: HX-Request`` either way so caches keep the two apart
redirect_to(request, url)      a redirect htmx follows as a whole-page visit
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect


def is_fragment(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.history_restore_request


def redirect_to(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect htmx follows as a whole-page visit; a plain one without htmx."""
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Marks a response that differs for htmx, so caches keep the fragment and the page apart."""
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_page_or_fragment(
    request: HttpRequest, template: str, fragment: str, context: dict, *, status: int = 200
) -> HttpResponse:
    """``template`` as a page, or its partial ``fragment`` (django-template-partials) for htmx."""
    name = f"{template}#{fragment}" if is_fragment(request) else template
    return vary_on_htmx(render(request, name, context, status=status))
