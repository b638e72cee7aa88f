import pytest
from django.contrib.auth.models import Group

from flowadmin.accounts.roles import (
    APPROVE_CHANGE,
    APPROVERS_GROUP,
    AUDITORS_GROUP,
    PROPOSE_CHANGE,
    STAFF_GROUP,
    VIEW_AUDIT,
    ensure_roles,
)


@pytest.mark.django_db
def test_migrate_creates_the_three_groups_with_their_permissions():
    groups = {group.name: {p.codename for p in group.permissions.all()} for group in Group.objects.all()}
    assert groups[STAFF_GROUP] == {"propose_change"}
    assert groups[APPROVERS_GROUP] == {"approve_change"}
    assert groups[AUDITORS_GROUP] == {"view_audit"}


@pytest.mark.django_db
def test_ensure_roles_is_idempotent():
    ensure_roles()
    ensure_roles()
    assert Group.objects.filter(name__in=[STAFF_GROUP, APPROVERS_GROUP, AUDITORS_GROUP]).count() == 3


@pytest.mark.django_db
def test_each_role_holds_only_its_own_permission(staff_user, approver_user, auditor_user, viewer_user):
    assert staff_user.has_perm(PROPOSE_CHANGE) and not staff_user.has_perm(APPROVE_CHANGE)
    assert approver_user.has_perm(APPROVE_CHANGE) and not approver_user.has_perm(PROPOSE_CHANGE)
    assert auditor_user.has_perm(VIEW_AUDIT) and not auditor_user.has_perm(APPROVE_CHANGE)
    assert not any(viewer_user.has_perm(p) for p in (PROPOSE_CHANGE, APPROVE_CHANGE, VIEW_AUDIT))


@pytest.mark.django_db
def test_navigation_shows_the_audit_log_only_to_auditors(client, staff_user, auditor_user):
    client.force_login(staff_user)
    assert b"Audit log" not in client.get("/").content
    client.force_login(auditor_user)
    page = client.get("/").content
    if b"/audit/" in page:  # the audit app is mounted
        assert b"Audit log" in page
