"""The "Background tasks" page: is the queue moving? For approvers and superusers."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from flowadmin.accounts.roles import APPROVE_CHANGE
from flowadmin.pages import render_page_or_fragment
from flowadmin.tasks.status import tasks_overview

NEEDS_APPROVE = "The background tasks page is for approvers (and superusers)."


@require_GET
def overview(request):
    if not request.user.has_perm(APPROVE_CHANGE):
        return render(request, "tasks/refused.html", {"message": NEEDS_APPROVE}, status=403)
    return render_page_or_fragment(request, "tasks/overview.html", "figures", {"overview": tasks_overview()})
