"""How the identity provider's groups become flowadmin's roles (OIDC_ROLE_MAP), and the LOCAL_LOGIN modes.

Pure functions with no database access: settings parse the mapping at start-up, so a typo stops the
server with a clear message instead of failing the first sign-in.

Format: comma-separated ``<group at the provider>=<role>`` pairs, e.g.
``aep-onboarding=Onboarding staff,aep-approvers=Approvers,aep-auditors=Auditors``. A role is named by
its group name in flowadmin (``Onboarding staff``, ``Approvers``, ``Auditors``) or its short name
(``staff``, ``approver``, ``auditor``). A provider group may appear in several pairs to give several
roles. Left empty, each role is given by a provider group of the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ImproperlyConfigured

from flowadmin.accounts.roles import GROUPS, ROLE_BY_GROUP

LOCAL_LOGIN_MODES = ("on", "off", "superusers")

ROLE_NAMES = tuple(GROUPS)  # the three roles, as the Django groups that hold them
_ROLE_BY_NAME = {**{name.casefold(): name for name in ROLE_NAMES}, **{short: g for g, short in ROLE_BY_GROUP.items()}}

RoleMap = Mapping[str, frozenset[str]]


def role_map_parse(text: str) -> dict[str, frozenset[str]]:
    """``"aep-approvers=Approvers,..."`` -> ``{"aep-approvers": frozenset({"Approvers"}), ...}``."""
    if not text.strip():
        return {name: frozenset({name}) for name in ROLE_NAMES}
    mapping: dict[str, set[str]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        group, equals, role = (piece.strip() for piece in item.partition("="))
        if not equals or not group or not role:
            raise ImproperlyConfigured(
                f"OIDC_ROLE_MAP: {item!r} is not <group at the provider>=<role>, e.g. aep-approvers=Approvers."
            )
        role_name = _ROLE_BY_NAME.get(role.casefold())
        if role_name is None:
            raise ImproperlyConfigured(
                f"OIDC_ROLE_MAP: {role!r} (for {group!r}) is not a role; the roles are {', '.join(ROLE_NAMES)}."
            )
        mapping.setdefault(group, set()).add(role_name)
    return {group: frozenset(roles) for group, roles in mapping.items()}


def roles_for_groups(role_map: RoleMap, groups: Iterable[str]) -> frozenset[str]:
    """The roles (Django group names) the provider's groups give; groups not in the map give none."""
    return frozenset(role for group in groups for role in role_map.get(group, ()))


def groups_for_role(role_map: RoleMap, role: str) -> list[str]:
    """The provider groups that give a role, for messages that tell people whom to ask."""
    return sorted(group for group, roles in role_map.items() if role in roles)
