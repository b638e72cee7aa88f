"""The flush the suite runs after every transactional test (`tests/flushing/`): each test starts from
empty tables and the roles, permissions and schedules `post_migrate` makes, whatever the test before
it changed."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django_q.models import Schedule

from flowadmin.accounts.roles import APPROVERS_GROUP, GROUPS, STAFF_GROUP
from flowadmin.catalog.models import Sandbox

pytestmark = pytest.mark.django_db(transaction=True)
AS_THE_SUITE_DOES = {"interactive": False, "verbosity": 0, "reset_sequences": False, "allow_cascade": False}


def flush() -> None:
    call_command("flush", inhibit_post_migrate=False, **AS_THE_SUITE_DOES)


def roles() -> dict[str, set[str]]:
    return {group.name: {p.codename for p in group.permissions.all()} for group in Group.objects.all()}


def state() -> tuple:
    return (
        roles(),
        set(ContentType.objects.values_list("app_label", "model")),
        set(Permission.objects.values_list("codename", "name")),
        set(Schedule.objects.values_list("name", "func", "minutes")),
    )


def test_a_flush_empties_the_tables_and_keeps_what_post_migrate_made():
    flush()
    made = state()
    assert set(made[0]) >= set(GROUPS) and made[3]
    Sandbox.objects.create(name="dev", title="Development")
    content_type_ids = dict(ContentType.objects.values_list("model", "id"))

    flush()

    assert not Sandbox.objects.exists()
    assert state() == made
    assert dict(ContentType.objects.values_list("model", "id")) == content_type_ids  # left in place


@pytest.mark.parametrize(
    "change",
    [
        lambda: Group.objects.create(name="Extra"),
        lambda: Group.objects.get(name=STAFF_GROUP).permissions.clear(),
        lambda: Group.objects.get(name=APPROVERS_GROUP).delete(),
        lambda: Permission.objects.filter(codename="view_audit").update(name="Renamed"),
        lambda: Schedule.objects.all().delete(),
    ],
    ids=["group added", "role's permissions cleared", "role deleted", "permission renamed", "schedules deleted"],
)
def test_whatever_a_test_changed_of_the_roles_or_schedules_the_next_starts_with_them_as_made(change):
    flush()
    made = state()

    change()
    assert state() != made
    flush()

    assert state() == made
