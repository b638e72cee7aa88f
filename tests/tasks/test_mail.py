"""E-mails are sent by a task: at once in the test suite, by a worker otherwise, again later on failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from flowadmin.tasks.mail import ATTEMPTS, mail_enqueue, mail_send
from tests.tasks.helpers import run_queued


def retries() -> list[Schedule]:
    return list(Schedule.objects.filter(func="flowadmin.tasks.mail.mail_send"))


def test_a_worker_sends_it_not_the_request(db, settings, mailoutbox):
    settings.FLOWADMIN_TASKS_SYNC = False
    mail_enqueue("Subject", "Body", ["a@example.com"])
    assert mailoutbox == [] and OrmQ.objects.count() == 1

    assert run_queued() == [("flowadmin.tasks.mail.mail_send", True)]
    [sent] = mailoutbox
    assert (sent.subject, sent.body, sent.to) == ("Subject", "Body", ["a@example.com"])


def test_no_recipient_no_task(db, settings):
    settings.FLOWADMIN_TASKS_SYNC = False
    mail_enqueue("Subject", "Body", [])
    assert not OrmQ.objects.exists()


@pytest.fixture
def smtp_down(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("flowadmin.tasks.mail.send_mail", broken)


def test_a_failing_mail_server_gets_the_mail_again_later(db, smtp_down, caplog):
    mail_enqueue("Subject", "Body", ["a@example.com"])

    [retry] = retries()
    assert retry.next_run >= timezone.now() + timedelta(seconds=29)
    assert "'_attempt': 2" in retry.kwargs and "a@example.com" in retry.args
    assert "could not send the e-mail 'Subject' to 1 recipient(s)" in caplog.text


def test_after_its_last_attempt_it_is_given_up_and_recorded_as_failed(db, smtp_down):
    with pytest.raises(ConnectionRefusedError):
        mail_send("Subject", "Body", ["a@example.com"], _attempt=ATTEMPTS)
    assert retries() == []
