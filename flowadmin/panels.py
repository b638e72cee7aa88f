"""Panels one app shows on another app's page, registered instead of named in a template.

A page offers a *slot* and renders what is registered there, in order; the app that owns a panel
registers it in its ``AppConfig.ready()``, so the page's app imports nothing of it:

    # flowadmin/rollouts/apps.py
    def ready(self):
        panels.register("flowspec", "rollouts", order=20, render=rollout_panels.flowspec_panel)

    {# templates/catalog/flowspec.html #}
    {% panels "flowspec" spec %}

``render(request, subject)`` returns the panel's HTML (usually `render_to_string` of the app's own
partial). The slots: ``flowspec`` (a cached flow spec's page; the subject is a `catalog.FlowSpec`)
and ``change_request`` (a change request's page; the subject is a `changes.ChangeRequest`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    slot: str
    name: str
    order: int
    render: Callable[[HttpRequest | None, Any], str]


_registry: dict[str, dict[str, Panel]] = {}


def register(slot: str, name: str, *, order: int, render: Callable[[HttpRequest | None, Any], str]) -> None:
    """Show ``render``'s HTML in ``slot``; registering a name again replaces it (reloads, tests)."""
    _registry.setdefault(slot, {})[name] = Panel(slot=slot, name=name, order=order, render=render)


def registered(slot: str) -> list[Panel]:
    """The panels of ``slot``, in order."""
    return sorted(_registry.get(slot, {}).values(), key=lambda panel: (panel.order, panel.name))
