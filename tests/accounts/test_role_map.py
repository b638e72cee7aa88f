"""OIDC_ROLE_MAP: how the identity provider's groups name flowadmin's three roles."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from flowadmin.accounts.role_map import groups_for_role, role_map_parse, roles_for_groups
from flowadmin.accounts.roles import APPROVERS_GROUP, AUDITORS_GROUP, STAFF_GROUP

EXAMPLE = "aep-onboarding=Onboarding staff,aep-approvers=Approvers,aep-auditors=Auditors"


def test_the_documented_example_maps_each_group_to_its_role():
    assert role_map_parse(EXAMPLE) == {
        "aep-onboarding": {STAFF_GROUP},
        "aep-approvers": {APPROVERS_GROUP},
        "aep-auditors": {AUDITORS_GROUP},
    }


def test_roles_may_be_named_by_their_short_names_and_spaces_around_are_ignored():
    parsed = role_map_parse(" /eng/leads = approver , Team A=staff,Team A = AUDITOR ")
    assert parsed == {"/eng/leads": {APPROVERS_GROUP}, "Team A": {STAFF_GROUP, AUDITORS_GROUP}}


def test_without_a_map_each_role_comes_from_a_group_of_its_own_name():
    assert roles_for_groups(role_map_parse(""), ["Approvers", "aep-auditors"]) == {APPROVERS_GROUP}


def test_groups_that_are_not_in_the_map_give_no_role():
    role_map = role_map_parse(EXAMPLE)
    assert roles_for_groups(role_map, ["everyone", "Approvers"]) == frozenset()
    both = roles_for_groups(role_map, ["everyone", "aep-auditors", "aep-approvers"])
    assert both == {AUDITORS_GROUP, APPROVERS_GROUP}


def test_the_groups_that_give_a_role_are_listed_for_the_no_role_page():
    role_map = role_map_parse("b-approvers=Approvers,a-approvers=approver,x=Auditors")
    assert groups_for_role(role_map, APPROVERS_GROUP) == ["a-approvers", "b-approvers"]
    assert groups_for_role(role_map, STAFF_GROUP) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aep-approvers", "'aep-approvers' is not <group at the provider>=<role>"),
        ("=Approvers", "'=Approvers' is not <group at the provider>=<role>"),
        ("aep-admins=Admins", "'Admins' (for 'aep-admins') is not a role; the roles are Onboarding staff, Approvers"),
    ],
)
def test_a_malformed_map_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        role_map_parse(text)
    assert str(refused.value).startswith("OIDC_ROLE_MAP: ")
    assert message in str(refused.value)
