"""The three roles of flowadmin, as Django groups with custom permissions.

Everyone signed in may browse; the permissions below unlock proposing, approving and auditing.
`ensure_roles` is idempotent: the data migration calls it, and so does `post_migrate`, so the
groups come back after a database flush (as transactional tests do).
"""

PROPOSE_CHANGE = "accounts.propose_change"
APPROVE_CHANGE = "accounts.approve_change"
VIEW_AUDIT = "accounts.view_audit"
MANAGE_FREEZES = "accounts.manage_freezes"

STAFF_GROUP = "Onboarding staff"
APPROVERS_GROUP = "Approvers"
AUDITORS_GROUP = "Auditors"
FREEZE_MANAGERS_GROUP = "Freeze managers"
DEMO_GROUP = "Demo users"  # marks the users seed_demo made (flowadmin.accounts.demo); not a role

PERMISSIONS = {
    "propose_change": "Can propose changes to flow specs",
    "approve_change": "Can approve or reject change requests",
    "view_audit": "Can query and export the audit log",
    "manage_freezes": "Can declare and end change freezes",
}
GROUPS = {
    STAFF_GROUP: ["propose_change"],
    APPROVERS_GROUP: ["approve_change"],
    AUDITORS_GROUP: ["view_audit"],
    FREEZE_MANAGERS_GROUP: ["manage_freezes"],
}
ROLE_BY_GROUP = {STAFF_GROUP: "staff", APPROVERS_GROUP: "approver", AUDITORS_GROUP: "auditor"}


def ensure_roles(apps=None) -> None:
    """Create (or complete) the permissions and groups; safe to call any number of times."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    content_type, _ = content_type_model.objects.get_or_create(app_label="accounts", model="role")
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permissions[codename], _ = permission_model.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for group_name, codenames in GROUPS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        group.permissions.add(*(permissions[codename] for codename in codenames))


def user_roles(user) -> list[str]:
    """Human names of the roles a user holds, for display."""
    if not user.is_authenticated:
        return []
    names = [group.name for group in user.groups.all() if group.name != DEMO_GROUP]
    if user.is_superuser:
        names.insert(0, "Superuser")
    return names
