"""The "Background tasks" page: is the queue moving? For approvers and superusers."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from flowadmin.accounts.roles import APPROVE_CHANGE
from flowadmin.tasks.status import tasks_overview
from flowadmin.views_support import is_fragment, vary_on_htmx

NEEDS_APPROVE = "The background tasks page is for approvers (and superusers)."


@require_GET
def overview(request):
    if not request.user.has_perm(APPROVE_CHANGE):
        return render(request, "tasks/refused.html", {"message": NEEDS_APPROVE}, status=403)
    template = "tasks/overview.html#figures" if is_fragment(request) else "tasks/overview.html"
    return vary_on_htmx(render(request, template, {"overview": tasks_overview()}))
