"""What the change-request and rollout decision views share: the 403 page that says why, and the one
shape of every decision they post (approve, reject, withdraw, retry, ...).

A decision calls one service. The service's "forbidden" error answers the app's 403 page; any other
error of the app is shown as a message on the subject's page; success says how it went (a message,
or a function that tells the outcome) and goes to the page of what the service returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from flowadmin.pages import redirect_to

Result = TypeVar("Result")


@dataclass(frozen=True)
class ActionPages:
    """How one app answers its decisions: its 403 page, its detail page and its service errors.

    `error` is the app's service error (it carries `.message`, a sentence for people); `forbidden`
    its subclass for "this person may not", answered with `refused_template` and status 403. The
    refused page gets `message` and the subject under `subject_name`; `detail_url` is the URL name
    of a subject's page, reversed with its pk.
    """

    refused_template: str
    subject_name: str
    detail_url: str
    error: type[Exception]
    forbidden: type[Exception]

    def refused(self, request: HttpRequest, message: str, subject: Any = None) -> HttpResponse:
        return render(request, self.refused_template, {"message": message, self.subject_name: subject}, status=403)

    def allowed_or_403(self, decide: Callable[[Any], Any]):
        """A view only for those ``decide(user)`` allows (a rule book's ``can_*`` returning a Decision);
        anyone else gets the 403 page with the decision's reason. Decisions on one subject (approve,
        reject, ...) are left to the services, which refuse with the same sentences and audit it."""

        def decorator(view):
            @functools.wraps(view)
            def wrapper(request, *args, **kwargs):
                decision = decide(request.user)
                if not decision:
                    return self.refused(request, decision.reason)
                return view(request, *args, **kwargs)

            return wrapper

        return decorator

    def to_detail(self, request: HttpRequest, subject: Any) -> HttpResponse:
        return redirect_to(request, reverse(self.detail_url, args=[subject.pk]))

    def decide(
        self,
        request: HttpRequest,
        subject: Any,
        call: Callable[[], Result],
        *,
        success: str | Callable[[Result], str] = "",
        outcome: Callable[[HttpRequest, Result], None] | None = None,
    ) -> HttpResponse:
        """Runs `call` (a service acting on `subject`) and answers as every decision does.

        On success: `success` as a success message (a function of the result when it names it),
        then `outcome(request, result)` for messages that depend on how it went, then the result's page.
        """
        try:
            result = call()
        except self.forbidden as error:
            return self.refused(request, error.message, subject)
        except self.error as error:
            messages.error(request, error.message)
            return self.to_detail(request, subject)
        text = success(result) if callable(success) else success
        if text:
            messages.success(request, text)
        if outcome is not None:
            outcome(request, result)
        return self.to_detail(request, result)
