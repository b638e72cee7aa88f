"""The rollout pages: permissions of every view, the form and its per-sandbox preview, one rollout, drift, hooks."""

import html
import re

import pytest
from django.urls import reverse

from flowadmin.rollouts import services
from flowadmin.rollouts.forms import NO_IDS, NO_SANDBOX
from flowadmin.rollouts.models import Rollout
from flowadmin.rollouts.plan import UNKNOWN_HERE
from tests.changes.factories import propose as propose_change
from tests.changes.fakes import server_error
from tests.rollouts.conftest import ACME_EVENTS, BRAZE, CUSTOMER_IO, STREAMING_ID, UNKNOWN

pytestmark = pytest.mark.django_db
ORDER = ["dev", "stage", "prod"]
HTMX = {"HTTP_HX_REQUEST": "true"}
NEW = reverse("rollouts:new")
PREVIEW = reverse("rollouts:preview")


def visible_text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def form(*, add=ACME_EVENTS, remove="", sandboxes=ORDER, positions=None, reason="Acme goes live", **extra) -> dict:
    data = {"spec_id": STREAMING_ID, "add_ids": add, "remove_ids": remove, "reason": reason, **extra}
    for place, name in enumerate(ORDER, start=1):
        if name in sandboxes:
            data[f"include_{name}"] = "on"
        data[f"position_{name}"] = str((positions or {}).get(name, place))
    return data


def propose(author, sandboxes=ORDER, reason="Acme goes live"):
    return services.rollout_propose(
        spec_id=STREAMING_ID, sandboxes=sandboxes, added=[ACME_EVENTS], removed=[], reason=reason, author=author
    )


# --- permissions -------------------------------------------------------------------------------
ROLES = ["anonymous", "viewer_user", "staff_user", "approver_user", "auditor_user"]
# view -> (method, expected status per role); the rollout is the staff user's own
MATRIX = {
    "list": ("get", (302, 200, 200, 200, 200)),
    "new": ("get", (302, 403, 200, 403, 403)),
    "preview": ("post", (302, 403, 200, 403, 403)),
    "detail": ("get", (302, 200, 200, 200, 200)),
    "progress": ("get", (302, 302, 302, 302, 302)),  # htmx polls it; a plain request goes to the rollout
    "check": ("get", (302, 200, 200, 200, 200)),
    "approve": ("post", (302, 403, 403, 302, 403)),
    "resume": ("post", (302, 403, 403, 302, 403)),
    "reject": ("post", (302, 403, 403, 302, 403)),
    "withdraw": ("post", (302, 403, 302, 403, 403)),
    "rebase": ("post", (302, 403, 302, 302, 403)),
    "drift": ("get", (302, 200, 200, 200, 200)),
}


def url_of(name: str, rollout) -> str:
    if name in ("list", "new", "preview"):
        return reverse(f"rollouts:{name}") + (f"?spec_id={STREAMING_ID}" if name == "new" else "")
    if name == "drift":
        return reverse("rollouts:drift", args=[STREAMING_ID])
    if name in ("check", "rebase"):
        return reverse(f"rollouts:{name}", args=[rollout.pk, 1])
    return reverse(f"rollouts:{name}", args=[rollout.pk])


@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
@pytest.mark.parametrize("name", list(MATRIX))
def test_every_view_checks_who_may_use_it(client, request, remote, staff_user, name, role_index):
    rollout = propose(staff_user)
    role = ROLES[role_index]
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    method, expected = MATRIX[name]
    data = {"digest": rollout.digest, "comment": "No", "confirmed": "on", **form()} if method == "post" else None

    response = getattr(client, method)(url_of(name, rollout), data)

    assert response.status_code == expected[role_index], (name, role)
    if expected[role_index] == 302 and role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_a_refusal_says_why(staff_client, remote, staff_user):
    rollout = propose(staff_user)

    response = staff_client.post(
        reverse("rollouts:approve", args=[rollout.pk]),
        {"digest": rollout.digest, "comment": "Checked.", "confirmed": "on"},
    )

    assert response.status_code == 403
    assert "needs the Approvers role" in visible_text(response.text)


def test_the_author_is_refused_even_as_a_superuser(client, remote, django_user_model):
    lead = django_user_model.objects.create_superuser("lead", email="lead@example.com", password="pw-lead")
    rollout = propose(lead)
    client.force_login(lead)

    page = client.get(reverse("rollouts:detail", args=[rollout.pk]))
    response = client.post(
        reverse("rollouts:approve", args=[rollout.pk]),
        {"digest": rollout.digest, "comment": "Checked.", "confirmed": "on"},
    )

    assert ">Approve</button>" not in page.text
    assert response.status_code == 403
    assert services.AUTHOR_CANNOT_APPROVE in html.unescape(response.text)
    assert remote.count("put") == 0


# --- the form ----------------------------------------------------------------------------------
def test_the_form_from_a_flow_spec_page_ticks_every_sandbox_in_the_default_order(staff_client, specs):
    response = staff_client.get(NEW, {"spec_id": STREAMING_ID, "sandbox": "prod"})

    assert response.status_code == 200
    text = response.text
    for place, name in enumerate(ORDER, start=1):
        assert re.search(rf'name="include_{name}"[^>]*checked', text)
        assert re.search(rf'name="position_{name}" value="{place}"', text)
    assert text.index('name="include_dev"') < text.index('name="include_stage"') < text.index('name="include_prod"')


def test_the_form_from_a_change_request_starts_with_its_ids(staff_client, remote, staff_user, specs):
    single = propose_change(specs["dev"], staff_user, add=[ACME_EVENTS])

    response = staff_client.get(NEW, {"spec_id": STREAMING_ID, "from": single.pk})

    assert f"change request #{single.pk}" in visible_text(response.text)
    assert ACME_EVENTS in response.text
    assert not re.search(r'name="include_dev"[^>]*checked', response.text)  # dev's request is open


def test_an_unknown_flow_spec_is_a_404(staff_client, specs):
    assert staff_client.get(NEW, {"spec_id": UNKNOWN}).status_code == 404
    assert staff_client.get(reverse("rollouts:drift", args=["nope\x00"])).status_code == 404


def test_the_live_preview_shows_each_sandbox_and_saves_nothing(staff_client, specs):
    response = staff_client.post(PREVIEW, form(add=f"{ACME_EVENTS}\n{UNKNOWN}"), **HTMX)

    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<section id="plan"')
    text = visible_text(response.text)
    assert "1. dev" in text and "2. stage" in text and "3. prod" in text
    assert UNKNOWN_HERE.format(id=UNKNOWN, sandbox="prod") in text
    assert not Rollout.objects.exists()


def test_the_preview_without_javascript_is_the_whole_page(staff_client, specs):
    response = staff_client.post(PREVIEW, form(positions={"prod": 1, "dev": 2, "stage": 3}))

    assert "<html" in response.text
    text = visible_text(response.text)
    assert text.index("1. prod") < text.index("2. dev") < text.index("3. stage")
    assert response.headers["Vary"].count("HX-Request") == 1


def test_a_form_with_problems_keeps_what_was_typed_and_says_what_is_wrong(staff_client, specs):
    response = staff_client.post(NEW, form(add="{" + ACME_EVENTS + "}", sandboxes=[], reason=""))

    assert response.status_code == 200
    text = visible_text(response.text)
    assert "is not a UUID" in text
    assert NO_SANDBOX in text
    assert "{" + ACME_EVENTS + "}" in html.unescape(response.text)
    assert not Rollout.objects.exists()
    assert NO_IDS in visible_text(staff_client.post(NEW, form(add="")).text)


def test_a_refused_proposal_shows_the_problems_of_each_sandbox(staff_client, specs):
    response = staff_client.post(NEW, form(add=CUSTOMER_IO))

    text = visible_text(response.text)
    assert services.INVALID_PLAN in text
    assert "Sandbox “dev” already has this change" in text
    assert not Rollout.objects.exists()


def test_submitting_creates_the_rollout_in_the_order_set_and_goes_to_it(staff_client, specs):
    response = staff_client.post(NEW, form(positions={"stage": 1, "dev": 2, "prod": 3}, submit="1"))

    rollout = Rollout.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("rollouts:detail", args=[rollout.pk])
    assert [step.sandbox for step in rollout.steps.order_by("position")] == ["stage", "dev", "prod"]
    htmx = staff_client.post(NEW, form(sandboxes=["dev"], add=CUSTOMER_IO, remove=""), **HTMX)
    assert htmx.status_code == 200  # refused (dev has it already): the page again, no redirect


# --- one rollout -------------------------------------------------------------------------------
def test_the_page_shows_every_step_with_its_diff_and_a_live_check_per_sandbox(approver_client, remote, staff_user):
    rollout = propose(staff_user, reason="<script>alert(1)</script>")

    response = approver_client.get(reverse("rollouts:detail", args=[rollout.pk]))

    text = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text
    for position in (1, 2, 3):
        assert f'hx-get="{reverse("rollouts:check", args=[rollout.pk, position])}"' in text
    assert text.count(ACME_EVENTS) >= 4
    assert f'value="{rollout.digest}"' in text
    assert ">Approve</button>" in text


def test_the_check_answers_htmx_with_a_fragment_and_a_browser_with_the_page(approver_client, remote, staff_user):
    rollout = propose(staff_user)
    url = reverse("rollouts:check", args=[rollout.pk, 2])

    fragment = approver_client.get(url, **HTMX)
    page = approver_client.get(url)

    assert fragment.text.lstrip().startswith('<div id="check-2"')
    assert "still applies" in fragment.text
    assert "<html" in page.text and "still applies" in page.text
    assert remote.count("put") == 0


def test_approving_through_the_page_applies_what_it_allows_and_says_what_waits(approver_client, remote, staff_user):
    rollout = propose(staff_user)

    response = approver_client.post(
        reverse("rollouts:approve", args=[rollout.pk]),
        {"digest": rollout.digest, "comment": "Checked.", "confirmed": "on"},
        follow=True,
    )

    text = visible_text(response.text)
    assert f"You approved rollout #{rollout.pk}." in text
    assert "prod waits for 1 more approval" in text
    assert ">Approve</button>" not in response.text  # this approver cannot approve twice


def test_a_stopped_rollout_says_where_and_offers_resume(client, remote, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    remote.fail_in("stage", "put", server_error(503, request_id="req-stage-1"))
    services.rollout_approve(rollout=rollout, approver=approver_user, digest=rollout.digest, comment="Checked.")
    client.force_login(approver_user)

    page = client.get(reverse("rollouts:detail", args=[rollout.pk]))

    text = visible_text(page.text)
    assert "Stopped at step 2 (stage)." in text
    assert "req-stage-1" in text
    assert ">Resume</button>" in page.text
    resumed = client.post(reverse("rollouts:resume", args=[rollout.pk]), follow=True)
    assert f"Rollout #{rollout.pk} is complete" in visible_text(resumed.text)
    assert remote.puts_to("dev") == 1


def test_reject_needs_a_comment_and_withdraw_is_the_authors(client, remote, staff_user, approver_user):
    rollout = propose(staff_user)
    client.force_login(approver_user)

    missing = client.post(reverse("rollouts:reject", args=[rollout.pk]), {"comment": ""})
    assert "Say why you reject it" in visible_text(missing.text)
    assert Rollout.objects.get().status == "pending"

    client.force_login(staff_user)
    client.post(reverse("rollouts:withdraw", args=[rollout.pk]))
    assert Rollout.objects.get().status == "withdrawn"


def test_the_list_shows_rollouts_with_their_status_and_sandboxes(approver_client, remote, staff_user, approver_user):
    rollout = propose(staff_user)

    response = approver_client.get(reverse("rollouts:list"), {"show": "awaiting"})

    text = visible_text(response.text)
    assert f"#{rollout.pk}" in text
    assert "dev → stage → prod" in text
    assert "pending" in text
    services.rollout_approve(rollout=rollout, approver=approver_user, digest=rollout.digest, comment="Checked.")
    awaiting = approver_client.get(reverse("rollouts:list"), {"show": "awaiting"})
    assert f"#{rollout.pk}" not in visible_text(awaiting.text)


# --- drift -------------------------------------------------------------------------------------
def test_the_drift_matrix_marks_presence_in_text_and_highlights_differences(staff_client, specs):
    response = staff_client.get(reverse("rollouts:drift", args=[STREAMING_ID]), {"reference": "dev"})

    text = visible_text(response.text)
    assert "1 id differs between sandboxes" in text
    assert "✓ present" in text and "✗ absent" in text
    assert response.text.count('class="drift-differs"') == 1
    link = f"{NEW}?spec_id={STREAMING_ID}&amp;reference=dev&amp;sandbox=prod"
    assert link in response.text
    fragment = staff_client.get(reverse("rollouts:drift", args=[STREAMING_ID]), {"reference": "prod"}, **HTMX)
    assert fragment.text.lstrip().startswith('<section id="drift"')
    assert "Roll out to bring every sandbox in line with prod" in fragment.text


def test_the_drift_view_offers_no_rollout_to_people_who_cannot_propose(approver_client, specs):
    response = approver_client.get(reverse("rollouts:drift", args=[STREAMING_ID]))

    assert "Roll out to bring" not in response.text
    assert "✗ absent" in response.text


# --- hooks on other pages ----------------------------------------------------------------------
def test_a_flow_spec_page_links_to_roll_out_and_to_the_drift(staff_client, specs):
    response = staff_client.get(reverse("catalog:flowspec", args=["stage", STREAMING_ID]))

    assert f'href="{NEW}?spec_id={STREAMING_ID}&amp;sandbox=stage"' in response.text
    assert reverse("rollouts:drift", args=[STREAMING_ID]) in response.text


def test_a_single_change_request_offers_a_rollout_and_a_step_points_to_its_rollout(
    client, remote, staff_user, approver_user, specs
):
    single = propose_change(specs["dev"], staff_user, add=[ACME_EVENTS])
    client.force_login(staff_user)
    page = client.get(reverse("changes:detail", args=[single.pk]))
    assert f"{NEW}?spec_id={STREAMING_ID}&amp;from={single.pk}" in page.text

    rollout = propose(staff_user, sandboxes=["stage", "prod"])
    step = rollout.steps.get(position=1)
    client.force_login(approver_user)
    step_page = client.get(reverse("changes:detail", args=[step.change_request_id]))
    assert f"step 1 (stage) of rollout #{rollout.pk}" in visible_text(step_page.text)
    assert "Approve and apply" not in step_page.text
    refused = client.post(
        reverse("changes:approve", args=[step.change_request_id]), {"digest": step.change_request.digest}
    )
    assert refused.status_code == 403
    assert remote.count("put") == 0


def test_the_navigation_links_to_the_rollouts(staff_client):
    response = staff_client.get(reverse("rollouts:list"))

    assert f'<a href="{reverse("rollouts:list")}" aria-current="page">Rollouts</a>' in response.text


def test_a_stale_step_shows_what_changed_and_offers_its_author_the_rebase(client, remote, staff_user, approver_user):
    rollout = propose(staff_user, sandboxes=["dev", "stage"])
    document = remote.document("stage", STREAMING_ID)
    document["sourceConnectionSpecIds"] = [*document["sourceConnectionSpecIds"], UNKNOWN]
    remote.add("stage", document)
    services.rollout_approve(rollout=rollout, approver=approver_user, digest=rollout.digest, comment="Checked.")
    client.force_login(staff_user)

    page = client.get(reverse("rollouts:detail", args=[rollout.pk]))

    assert "What changed remotely since the base" in page.text
    assert UNKNOWN in page.text
    rebase = reverse("rollouts:rebase", args=[rollout.pk, 2])
    assert f'action="{rebase}"' in page.text
    client.post(rebase)
    assert Rollout.objects.get().status == "pending"


def test_a_run_that_gave_no_sign_of_life_can_be_resumed_from_the_page(approver_client, remote, settings, staff_user):
    rollout = propose(staff_user, sandboxes=["dev"])
    Rollout.objects.filter(pk=rollout.pk).update(
        status="applying", run_token="gone", run_heartbeat_at="2020-01-01T00:00Z"
    )

    page = approver_client.get(reverse("rollouts:detail", args=[rollout.pk]))

    assert "gave no sign of life" in page.text
    assert ">Resume</button>" in page.text


def test_a_bogus_source_change_request_is_not_kept(staff_client, specs):
    staff_client.post(NEW, form(source_change_request="987654", submit="1"))

    assert Rollout.objects.get().source_change_request_id is None


def test_before_any_id_is_typed_the_preview_asks_for_them_instead_of_reporting_problems(staff_client, specs):
    response = staff_client.get(NEW, {"spec_id": STREAMING_ID})

    assert "Type the ids to add or to remove" in response.text
    assert "cannot be rolled out" not in response.text


def test_ids_every_sandbox_already_has_say_there_is_nothing_to_do(staff_client, specs):
    response = staff_client.post(PREVIEW, form(add=BRAZE), **HTMX)
    assert "Nothing to do: every sandbox already lists the ids to add." in visible_text(response.text)

    some = staff_client.post(PREVIEW, form(add=CUSTOMER_IO), **HTMX)
    assert "Nothing to do" not in visible_text(some.text), "prod lacks it"


def test_a_place_in_the_order_below_one_is_said_not_silently_replaced(staff_client, specs):
    response = staff_client.post(PREVIEW, form(positions={"dev": 0}), **HTMX)
    text = visible_text(response.text)
    assert "Place of dev in the order: Ensure this value is greater than or equal to 1." in text
    assert "Its default place is used until then." in text
    refused = staff_client.post(NEW, form(positions={"dev": 0}))
    assert not Rollout.objects.exists() and refused.status_code == 200
    assert 'id="error-summary"' in refused.text
