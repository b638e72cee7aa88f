"""E-mails are sent by a task: a slow or failing mail server never holds up or breaks the action
that made the news, and a failed send is tried again with back-off (30 s, 1, 2, 4, 8 min)."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail

from flowadmin.tasks.queue import enqueue, retrying

logger = logging.getLogger("flowadmin.tasks")

ATTEMPTS = 6


def mail_enqueue(subject: str, body: str, recipients: list[str]) -> None:
    """Send the e-mail from a worker (nothing to do without recipients)."""
    if recipients:
        enqueue("flowadmin.tasks.mail.mail_send", subject, body, list(recipients), name=f"mail: {subject}")


@retrying(on=(smtplib.SMTPException, OSError), attempts=ATTEMPTS)
def mail_send(subject: str, body: str, recipients: list[str]) -> int:
    try:
        return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception as error:
        logger.warning("could not send the e-mail %r to %d recipient(s): %r", subject, len(recipients), error)
        raise
