"""E-mails about change requests: approvers hear of new ones, authors of decisions.

Queued after the transaction that made the news commits (`transaction.on_commit`) and sent by a task
(`flowadmin.tasks.mail`): a mail server that fails is retried with back-off and never breaks the action.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from flowadmin.catalog.names import Names, names_for
from flowadmin.changes import selectors
from flowadmin.changes.models import ChangeRequest
from flowadmin.tasks.mail import mail_enqueue

logger = logging.getLogger("flowadmin.changes")

SUBJECT_PROPOSED = "[flowadmin] Change request #{pk} awaits review: {name} in {sandbox}"
SUBJECT_DECIDED = "[flowadmin] Change request #{pk} is {status}: {name} in {sandbox}"


def absolute_url(path: str) -> str:
    return settings.FLOWADMIN_BASE_URL.rstrip("/") + path


def request_url(change_request: ChangeRequest) -> str:
    return absolute_url(reverse("changes:detail", args=[change_request.pk]))


def id_line(sign: str, spec_id: str, names: Names) -> str:
    """ "  + 04e0fcbb-… Zoho CRM": the whole id (to copy), then its name when it is known."""
    name = names.spec(spec_id)
    return f"  {sign} {spec_id}{f'  {name}' if name else ''}"


def sandbox_label(sandbox: str, names: Names) -> str:
    title = names.sandbox_title(sandbox)
    return f"{title} ({sandbox})" if title else sandbox


def _summary(change_request: ChangeRequest) -> str:
    added, removed = change_request.added_ids, change_request.removed_ids
    names = names_for(connection_specs=[*added, *removed], sandboxes=[change_request.sandbox])
    sandbox = sandbox_label(change_request.sandbox, names)
    lines = [f"Flow spec: {change_request.spec_name} ({change_request.spec_id}) in sandbox {sandbox}"]
    lines += [id_line("+", spec_id, names) for spec_id in added]
    lines += [id_line("-", spec_id, names) for spec_id in removed]
    lines.append(f"Reason: {change_request.reason}")
    return "\n".join(lines)


def _send(subject: str, body: str, recipients: list[str]) -> None:
    mail_enqueue(subject, body, recipients)  # a worker sends it, and tries again if the server fails


def notify_proposed(change_request: ChangeRequest) -> None:
    """Tell the approvers (but the author) about a new request, once the transaction commits."""

    def send() -> None:
        try:
            recipients = selectors.approvers_to_notify(exclude=change_request.author)
        except Exception:
            logger.exception("could not find the approvers to tell about change request %s", change_request.pk)
            return
        subject = SUBJECT_PROPOSED.format(
            pk=change_request.pk, name=change_request.spec_name, sandbox=change_request.sandbox
        )
        body = (
            f"{change_request.author_username} proposes a change that awaits your review.\n\n"
            f"{_summary(change_request)}\n\nReview it: {request_url(change_request)}\n"
        )
        _send(subject, body, recipients)

    transaction.on_commit(send)


def notify_decided(change_request: ChangeRequest) -> None:
    """Tell the author what became of their request, once the transaction commits."""
    author = change_request.author
    email = getattr(author, "email", "") if author is not None else ""

    def send() -> None:
        status = change_request.get_status_display()
        subject = SUBJECT_DECIDED.format(
            pk=change_request.pk, status=status, name=change_request.spec_name, sandbox=change_request.sandbox
        )
        parts = [f"Your change request #{change_request.pk} is {status}."]
        if change_request.reviewer_username:
            parts.append(f"Reviewer: {change_request.reviewer_username}")
        if change_request.review_comment:
            parts.append(f"Comment: {change_request.review_comment}")
        if change_request.error_title:
            parts.append(f"Error: {change_request.error_title}: {change_request.error_detail}")
        parts += ["", _summary(change_request), "", f"See it: {request_url(change_request)}", ""]
        _send(subject, "\n".join(parts), [email])

    if email:
        transaction.on_commit(send)
