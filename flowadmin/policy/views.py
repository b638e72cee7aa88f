"""The freezes page: what is frozen now and next, and, for freeze managers, declaring and ending them."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from flowadmin.accounts.roles import MANAGE_FREEZES
from flowadmin.policy import freezes
from flowadmin.policy.forms import FreezeForm
from flowadmin.policy.models import Freeze

DECLARED = "Freeze #{pk} was declared."
LIFTED = "Freeze #{pk} was ended."
PAST_SHOWN = 20


def _context(request, form: FreezeForm | None) -> dict:
    now = timezone.now()
    current = Freeze.objects.filter(lifted_at__isnull=True, ends_at__gt=now).order_by("starts_at", "pk")
    past = Freeze.objects.exclude(pk__in=current.values("pk")).order_by("-starts_at", "-pk")[:PAST_SHOWN]
    return {
        "current": [freeze for freeze in current if freeze.starts_at <= now],
        "upcoming": [freeze for freeze in current if freeze.starts_at > now],
        "past": past,
        "form": form,
        "may_manage": request.user.has_perm(MANAGE_FREEZES),
    }


@require_http_methods(["GET", "POST"])
def freeze_list(request):
    if request.method == "GET":
        now = timezone.now().replace(second=0, microsecond=0)
        form = FreezeForm(initial={"starts_at": now, "ends_at": now + timedelta(days=1)})
        return render(request, "policy/freezes.html", _context(request, form))
    form = FreezeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            freeze = freezes.freeze_declare(
                actor=request.user,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                tiers=data["tiers"],
                sandboxes=data["sandboxes"],
                reason=data["reason"],
            )
        except freezes.FreezeForbidden as error:
            return render(request, "policy/refused.html", {"message": error.message}, status=403)
        except freezes.FreezeError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, DECLARED.format(pk=freeze.pk))
            return redirect("policy:freezes")
    return render(request, "policy/freezes.html", {**_context(request, form), "submitted": True})


@require_POST
def freeze_end(request, pk: int):
    freeze = get_object_or_404(Freeze, pk=pk)
    try:
        freezes.freeze_lift(actor=request.user, freeze=freeze)
    except freezes.FreezeForbidden as error:
        return render(request, "policy/refused.html", {"message": error.message}, status=403)
    except freezes.FreezeError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, LIFTED.format(pk=pk))
    return redirect("policy:freezes")
