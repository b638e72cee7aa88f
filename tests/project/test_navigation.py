"""Finding one's way: the home page's cards per role, breadcrumbs that end with the page's parent."""

import re

import pytest


def cards(response) -> list[str]:
    return re.findall(r'<li class="card"><h2><a href="[^"]+">([^<]+)</a>', response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("staff_client", ["Sandboxes", "Change requests", "Rollouts"]),
        ("approver_client", ["Sandboxes", "Change requests", "Rollouts"]),
        ("auditor_client", ["Sandboxes", "Change requests", "Rollouts", "Audit log"]),
    ],
)
def test_the_home_page_leads_to_every_part_a_role_uses(request, who, expected):
    home = request.getfixturevalue(who).get("/")
    assert [card for card in cards(home) if card in expected] == expected


@pytest.mark.django_db
def test_breadcrumbs_are_a_list_of_links_with_no_separator_after_the_last(staff_client):
    from flowadmin.catalog.models import Sandbox

    Sandbox.objects.create(name="dev", title="Development")
    page = staff_client.get("/sandboxes/dev/flowspecs/").content.decode()
    crumbs = re.search(r'<nav class="crumbs" aria-label="Breadcrumb"><ol>(.*?)</ol></nav>', page).group(1)
    assert crumbs == '<li><a href="/sandboxes/">Sandboxes</a></li>'
    assert "\u203a</p>" not in page
