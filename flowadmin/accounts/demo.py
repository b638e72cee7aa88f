"""Demo users for a dashboard running against the embedded emulator. Never under production settings.

They are created only under DEBUG with the emulator on, and marked by the group ``Demo users``.
Under DEBUG=false they cannot log in, whatever made them: a marked user is refused by the
authentication backend (its sessions too), and so is any login of a demo username with a public
demo password (which also catches demo users made before the mark existed). `check --deploy`
reports them (flowadmin.E004).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.db.models import Q

from flowadmin.accounts.roles import (
    APPROVERS_GROUP,
    AUDITORS_GROUP,
    DEMO_GROUP,
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
PUBLIC_DEMO_PASSWORD = "flowadmin-demo"  # noqa: S105 (printed by `make run`, in the README: public)
DEMO_REFUSED = "Demo users are only created while the embedded emulator is in use and DEBUG is on."
DEMO_LOGIN_REFUSED = (
    "Demo accounts cannot log in on this server: it runs with production settings (DEBUG off). "
    "Ask an administrator for an account of your own."
)


def demo_users_allowed() -> bool:
    return bool(settings.FLOWADMIN_EMULATOR and settings.DEBUG)


def demo_users_create(*, password: str) -> list[str]:
    """Create or reset the demo users, one per role, marked as demo users; returns their usernames."""
    if not demo_users_allowed():
        raise PermissionError(DEMO_REFUSED)
    ensure_roles()
    demo_group, _ = Group.objects.get_or_create(name=DEMO_GROUP)
    user_model = get_user_model()
    for username, group_names in DEMO_USERS.items():
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.set_password(password)
        user.is_active = True
        user.save()
        user.groups.set([*Group.objects.filter(name__in=group_names), demo_group])
    return list(DEMO_USERS)


def public_demo_passwords() -> set[str]:
    return {PUBLIC_DEMO_PASSWORD, getattr(settings, "DEMO_PASSWORD", "") or PUBLIC_DEMO_PASSWORD}


def is_demo_user(user) -> bool:
    """Marked as a demo user (a query only for the demo usernames)."""
    return user.get_username() in DEMO_USERS and user.groups.filter(name=DEMO_GROUP).exists()


def demo_login_refused(*, username: str | None, password: str | None) -> bool:
    """Under DEBUG=false: a demo username with a public demo password (no hashing needed to tell)."""
    return not settings.DEBUG and username in DEMO_USERS and password in public_demo_passwords()


def demo_user_refused(user) -> bool:
    """Under DEBUG=false: a user marked as a demo user."""
    return not settings.DEBUG and is_demo_user(user)


def demo_users_found() -> list[str]:
    """Usernames of the demo users in the database: marked ones, and demo usernames whose password is a
    public demo password (made before the mark existed). For `check --deploy`."""
    users = (
        get_user_model()
        .objects.filter(Q(username__in=list(DEMO_USERS)) | Q(groups__name=DEMO_GROUP))
        .distinct()
        .prefetch_related("groups")
        .order_by("username")
    )
    found = []
    for user in users:
        marked = any(group.name == DEMO_GROUP for group in user.groups.all())
        # hashers.check_password, not user.check_password: a check must not upgrade (save) a hash.
        if marked or any(check_password(password, user.password) for password in public_demo_passwords()):
            found.append(user.get_username())
    return found
