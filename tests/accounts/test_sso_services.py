"""sso_user_sync: the account of a verified sign-in, found by its subject only, with exactly the mapped roles."""

import pytest
from django.contrib.auth.models import Group

from flowadmin.accounts.models import ExternalIdentity
from flowadmin.accounts.role_map import role_map_parse
from flowadmin.accounts.roles import APPROVERS_GROUP, AUDITORS_GROUP, STAFF_GROUP, ensure_roles, user_roles
from flowadmin.accounts.sso.errors import ACCOUNT_DISABLED, NO_SUBJECT, NoRole, SignInRefused
from flowadmin.accounts.sso.services import sso_user_sync

ISSUER = "https://idp.example.com"
ROLE_MAP = role_map_parse("aep-onboarding=Onboarding staff,aep-approvers=Approvers,aep-auditors=Auditors")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roles():
    ensure_roles()


def sync(sub="op-1", groups=("aep-approvers",), issuer=ISSUER, **claims):
    groups = groups if isinstance(groups, str) else list(groups)
    claims = {"sub": sub, "preferred_username": "alice", "groups": groups, **claims}
    return sso_user_sync(
        issuer=issuer, claims=claims, role_map=ROLE_MAP, roles_claim="groups", username_claim="preferred_username"
    )


def test_a_first_sign_in_makes_the_account_with_the_mapped_role_and_remembers_the_subject():
    sign_in = sync(email="alice@example.com", given_name="Alice", family_name="Liddell")

    user = sign_in.user
    assert sign_in.created
    assert (user.username, user.email, user.first_name, user.last_name) == (
        "alice", "alice@example.com", "Alice", "Liddell",
    )  # fmt: skip
    assert user_roles(user) == [APPROVERS_GROUP]
    assert not user.has_usable_password()  # a password login can never open it
    assert ExternalIdentity.objects.get(user=user).subject == "op-1"


def test_the_next_sign_in_of_the_same_subject_finds_the_same_account_even_under_a_new_username():
    first = sync().user
    again = sync(preferred_username="alice.liddell").user
    assert again.pk == first.pk
    assert again.username == "alice"  # the name given when the account was made stays


def test_a_local_account_with_the_same_username_is_never_taken_over(django_user_model):
    local = django_user_model.objects.create_user("alice", email="alice@example.com", password="pw-local")
    local.groups.add(Group.objects.get(name=AUDITORS_GROUP))

    user = sync(email="alice@example.com").user

    assert user.pk != local.pk
    assert user.username == "alice-2"
    assert user_roles(user) == [APPROVERS_GROUP]
    local.refresh_from_db()
    assert user_roles(local) == [AUDITORS_GROUP]
    assert local.check_password("pw-local")


def test_a_person_recreated_at_the_provider_under_the_same_name_gets_a_new_account():
    departed = sync(sub="op-1", groups=["aep-approvers"]).user
    newcomer = sync(sub="op-2", groups=["aep-onboarding"]).user

    assert newcomer.pk != departed.pk
    assert newcomer.username == "alice-2"
    assert user_roles(newcomer) == [STAFF_GROUP]
    assert user_roles(departed) == [APPROVERS_GROUP]


def test_the_same_subject_at_another_issuer_is_another_person():
    here = sync(issuer=ISSUER).user
    elsewhere = sync(issuer="https://other-idp.example.com").user
    assert here.pk != elsewhere.pk


def test_every_sign_in_sets_exactly_the_mapped_roles_and_leaves_other_groups_alone():
    user = sync(groups=["aep-approvers", "aep-auditors"]).user
    other = Group.objects.create(name="Newsletter")
    user.groups.add(other, Group.objects.get(name=STAFF_GROUP))  # given by hand in the admin

    user = sync(groups=["aep-auditors", "everyone"]).user

    assert set(user.groups.values_list("name", flat=True)) == {AUDITORS_GROUP, "Newsletter"}


def test_a_superuser_stays_one_whatever_the_groups_say(django_user_model):
    user = sync().user
    django_user_model.objects.filter(pk=user.pk).update(is_superuser=True)
    assert sync(groups=["aep-auditors"]).user.is_superuser


def test_without_a_mapped_group_nobody_is_signed_in_and_no_account_is_made(django_user_model):
    with pytest.raises(NoRole) as no_role:
        sync(groups=["everyone", "aep-readers"])

    assert (no_role.value.username, no_role.value.groups) == ("alice", ["everyone", "aep-readers"])
    assert not django_user_model.objects.exists()


def test_losing_every_mapped_group_removes_every_role_and_refuses_the_sign_in():
    user = sync(groups=["aep-approvers", "aep-auditors"]).user

    with pytest.raises(NoRole):
        sync(groups=[])

    assert user_roles(user) == []


def test_a_disabled_account_is_refused_and_keeps_its_roles(django_user_model):
    user = sync().user
    django_user_model.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(SignInRefused) as refused:
        sync(groups=["aep-auditors"])

    assert refused.value.message == ACCOUNT_DISABLED
    assert user_roles(user) == [APPROVERS_GROUP]


def test_a_sign_in_without_a_subject_is_refused(django_user_model):
    with pytest.raises(SignInRefused) as refused:
        sync(sub="")
    assert refused.value.message == NO_SUBJECT
    assert not django_user_model.objects.exists()


@pytest.mark.parametrize(
    ("claims", "username"),
    [
        ({"preferred_username": "Ann Smith <ann@example.com>"}, "Ann-Smith-ann@example.com"),
        ({"preferred_username": None, "email": "bob@example.com"}, "bob@example.com"),
        ({"preferred_username": None}, "op-1"),
    ],
)
def test_the_username_is_readable_and_valid_whatever_the_claims(claims, username):
    user = sync(**claims).user
    assert user.username == username
    user.full_clean()  # Django's username validator accepts it


def test_a_single_group_sent_as_a_string_counts():
    assert user_roles(sync(groups="aep-auditors").user) == [AUDITORS_GROUP]


def test_the_admin_lists_the_links_read_only(admin_client):
    user = sync().user
    page = admin_client.get("/admin/accounts/externalidentity/")
    assert page.status_code == 200
    assert "op-1" in page.text
    link = ExternalIdentity.objects.get(user=user)
    change = admin_client.post(f"/admin/accounts/externalidentity/{link.pk}/change/", {"subject": "op-9"})
    assert change.status_code == 403
    link.refresh_from_db()
    assert link.subject == "op-1"
