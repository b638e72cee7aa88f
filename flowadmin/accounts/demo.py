"""Demo users for a dashboard running against the embedded emulator. Never under production settings."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from flowadmin.accounts.roles import (
    APPROVERS_GROUP,
    AUDITORS_GROUP,
    FREEZE_MANAGERS_GROUP,
    STAFF_GROUP,
    ensure_roles,
)

# A production sandbox needs two approvers: the demo has two; the first also manages freezes.
DEMO_USERS = {
    "staff": [STAFF_GROUP],
    "approver": [APPROVERS_GROUP, FREEZE_MANAGERS_GROUP],
    "approver2": [APPROVERS_GROUP],
    "auditor": [AUDITORS_GROUP],
}
DEMO_REFUSED = "Demo users are only created while the embedded emulator is in use and DEBUG is on."


def demo_users_allowed() -> bool:
    return bool(settings.FLOWADMIN_EMULATOR and settings.DEBUG)


def demo_users_create(*, password: str) -> list[str]:
    """Create or reset the demo users, one per role; returns their usernames."""
    if not demo_users_allowed():
        raise PermissionError(DEMO_REFUSED)
    ensure_roles()
    user_model = get_user_model()
    for username, group_names in DEMO_USERS.items():
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.set_password(password)
        user.is_active = True
        user.save()
        user.groups.set(Group.objects.filter(name__in=group_names))
    return list(DEMO_USERS)
