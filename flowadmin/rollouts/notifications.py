"""E-mails about rollouts: approvers hear of a new one and of one waiting for a production approval; the
author hears where one stopped. Queued after the transaction commits and sent by a task, which tries a
failing mail server again with back-off (`flowadmin.tasks.mail`).

The change requests of the steps tell their author about each sandbox applied or failed, as usual.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from flowadmin.catalog.names import names_for
from flowadmin.changes import selectors as changes_selectors
from flowadmin.changes.notifications import id_line, sandbox_label
from flowadmin.tasks.mail import mail_enqueue

logger = logging.getLogger("flowadmin.rollouts")

SUBJECT_PROPOSED = "[flowadmin] Rollout #{pk} awaits review: {name} in {sandboxes}"
SUBJECT_WAITING = "[flowadmin] Rollout #{pk} waits for another approval before {sandbox}"
SUBJECT_STOPPED = "[flowadmin] Rollout #{pk} stopped at {sandbox}"


def rollout_url(rollout) -> str:
    return settings.FLOWADMIN_BASE_URL.rstrip("/") + reverse("rollouts:detail", args=[rollout.pk])


def _send(subject: str, body: str, recipients: list[str]) -> None:
    mail_enqueue(subject, body, recipients)  # a worker sends it, and tries again if the server fails


def _summary(rollout) -> str:
    sandboxes = [step.sandbox for step in rollout.steps.order_by("position")]
    names = names_for(connection_specs=[*rollout.added_ids, *rollout.removed_ids], sandboxes=sandboxes)
    lines = [f"Flow spec: {rollout.spec_name or rollout.spec_id} ({rollout.spec_id})"]
    lines += [id_line("+", spec_id, names) for spec_id in rollout.added_ids]
    lines += [id_line("-", spec_id, names) for spec_id in rollout.removed_ids]
    lines.append("Sandboxes, in order: " + ", ".join(sandbox_label(sandbox, names) for sandbox in sandboxes))
    lines.append(f"Reason: {rollout.reason}")
    return "\n".join(lines)


def _approvers(rollout, *, exclude_usernames=()) -> list[str]:
    try:
        recipients = changes_selectors.approvers_to_notify(exclude=rollout.author)
    except Exception:
        logger.exception("could not find the approvers to tell about rollout %s", rollout.pk)
        return []
    if exclude_usernames:
        excluded = set(
            get_user_model().objects.filter(username__in=list(exclude_usernames)).values_list("email", flat=True)
        )
        recipients = [address for address in recipients if address not in excluded]
    return recipients


def notify_proposed(rollout) -> None:
    def send() -> None:
        sandboxes = ", ".join(step.sandbox for step in rollout.steps.order_by("position"))
        subject = SUBJECT_PROPOSED.format(pk=rollout.pk, name=rollout.spec_name or rollout.spec_id, sandboxes=sandboxes)
        body = (
            f"{rollout.author_username} proposes a rollout that awaits your review.\n\n"
            f"{_summary(rollout)}\n\nReview it: {rollout_url(rollout)}\n"
        )
        _send(subject, body, _approvers(rollout))

    transaction.on_commit(send)


def notify_waiting(rollout, *, step, needed: int) -> None:
    def send() -> None:
        approved = list(rollout.approvals.filter(digest=rollout.digest).values_list("approver_username", flat=True))
        subject = SUBJECT_WAITING.format(pk=rollout.pk, sandbox=step.sandbox)
        body = (
            f"Rollout #{rollout.pk} applied the sandboxes before {step.sandbox}, a production sandbox that needs "
            f"{needed} approvals (so far: {', '.join(approved) or 'none'}).\n\n{_summary(rollout)}\n\n"
            f"Review it: {rollout_url(rollout)}\n"
        )
        _send(subject, body, _approvers(rollout, exclude_usernames=approved))

    transaction.on_commit(send)


def notify_stopped(rollout) -> None:
    email = getattr(rollout.author, "email", "") if rollout.author is not None else ""
    if not email:
        return

    def send() -> None:
        step = rollout.steps.filter(position=rollout.stopped_position).first()
        subject = SUBJECT_STOPPED.format(pk=rollout.pk, sandbox=step.sandbox if step else "?")
        body = f"{rollout.stop_detail}\n\n{_summary(rollout)}\n\nSee it: {rollout_url(rollout)}\n"
        _send(subject, body, [email])

    transaction.on_commit(send)
