"""The flowadmin account of a verified single sign-on, and the roles the provider's groups give it.

Accounts are found by the provider's subject (``iss`` + ``sub``) and nothing else: never by username
or e-mail, so a person re-created at the provider under the same name, or a local account of that
name, is never taken over. The mapping owns the three roles: at every sign-in the user holds exactly
the roles their groups map to (one removed at the provider is gone at the next sign-in); other
Django groups and the superuser flag are left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowadmin.accounts.models import ExternalIdentity
from flowadmin.accounts.role_map import ROLE_NAMES, RoleMap, roles_for_groups
from flowadmin.accounts.sso.errors import ACCOUNT_DISABLED, NO_SUBJECT, NoRole, SignInRefused

log = logging.getLogger(__name__)

_NOT_IN_USERNAMES = re.compile(r"[^\w.@+-]+")  # what Django's username validator refuses


@dataclass(frozen=True)
class SignIn:
    user: object
    roles: frozenset[str]
    created: bool


def claim_values(value) -> list[str]:
    """A claim as a list of strings: providers send a list, a single string, or nothing."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def sso_user_sync(*, issuer: str, claims: Mapping, role_map: RoleMap, roles_claim: str, username_claim: str) -> SignIn:
    """The user of a verified sign-in, made or updated from its claims, with the mapped roles.

    Raises SignInRefused (no subject, a disabled account) or NoRole (no group gives a role: the
    user's roles are removed all the same and nobody is signed in; no account is made for them).
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SignInRefused(NO_SUBJECT, log_detail="no sub claim")
    groups = claim_values(claims.get(roles_claim))
    roles = roles_for_groups(role_map, groups)
    wanted = _readable_username(claims, username_claim, subject)
    for attempt in (1, 2):  # a concurrent first sign-in of the same subject or username wins once
        try:
            with transaction.atomic():
                sign_in = _sync(issuer=issuer, subject=subject, claims=claims, roles=roles, wanted=wanted)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if sign_in is None:
        log.info("SSO sign-in of %s (sub %s) refused: groups %s give no role", wanted, subject, groups)
        raise NoRole(username=wanted, groups=groups)
    log.info("SSO sign-in of %s (sub %s): roles %s", sign_in.user.get_username(), subject, sorted(roles) or "none")
    return sign_in


def _sync(*, issuer: str, subject: str, claims: Mapping, roles: frozenset[str], wanted: str) -> SignIn | None:
    identities = ExternalIdentity.objects.select_for_update().select_related("user")
    identity = identities.filter(issuer=issuer, subject=subject).first()
    if identity is None:
        if not roles:
            return None
        user = get_user_model()(username=_free_username(wanted))
        user.set_unusable_password()
        _copy_profile(user, claims)
        user.save()
        identity = ExternalIdentity(user=user, issuer=issuer, subject=subject)
        created = True
    else:
        user = identity.user
        if not user.is_active:
            raise SignInRefused(ACCOUNT_DISABLED, log_detail=f"user {user.pk} is inactive")
        _copy_profile(user, claims)
        user.save()
        created = False
    _roles_set(user=user, roles=roles)
    identity.last_login_at = timezone.now()
    identity.save()
    return SignIn(user=user, roles=roles, created=created) if roles else None


def _roles_set(*, user, roles: Iterable[str]) -> None:
    """Give exactly ``roles`` among the three; other groups stay."""
    wanted = set(roles)
    held = {group.name: group for group in user.groups.filter(name__in=ROLE_NAMES)}
    removed = [group for name, group in held.items() if name not in wanted]
    added = Group.objects.filter(name__in=wanted - held.keys())
    if removed:
        user.groups.remove(*removed)
    if wanted - held.keys():
        user.groups.add(*added)


def _copy_profile(user, claims: Mapping) -> None:
    for field, claim in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name")):
        value = claims.get(claim)
        if isinstance(value, str):
            setattr(user, field, value[: user._meta.get_field(field).max_length])


def _readable_username(claims: Mapping, username_claim: str, subject: str) -> str:
    """The username claim, else the e-mail, else the subject, in the characters usernames allow."""
    for value in (claims.get(username_claim), claims.get("email"), subject):
        if isinstance(value, str) and (cleaned := _NOT_IN_USERNAMES.sub("-", value.strip()).strip("-")):
            return cleaned[:140]
    return subject[:140]


def _free_username(wanted: str) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``...: a name another account already has is never reused."""
    user_model = get_user_model()
    taken = set(user_model.objects.filter(username__istartswith=wanted).values_list("username", flat=True))
    taken = {name.casefold() for name in taken}
    candidate, number = wanted, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate
