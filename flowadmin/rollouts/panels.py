"""The rollout panels other apps' pages show (registered in `RolloutsConfig.ready`), and how a change
request finds the rollout it is a step of (registered with `flowadmin.changes.owners`).
Rendered without the request: a panel shows nothing of it, and the page's context processors (each
a query or more) would run again for every panel.
"""

from django.template.loader import render_to_string

from flowadmin.rollouts import policy, selectors


def _can_propose(request) -> bool:
    user = getattr(request, "user", None)
    return user is not None and bool(policy.can_propose(user))


def flowspec_panel(request, spec) -> str:
    """A flow spec page's rollouts: roll out, the drift view, the rollouts of this flow spec."""
    context = {
        "spec": spec,
        "rollouts": selectors.rollouts_for_spec(spec_id=spec.spec_id),
        "can_propose": _can_propose(request),
    }
    return render_to_string("rollouts/_flowspec_panel.html", context)  # no request: no context processors


def change_request_panel(request, change_request) -> str:
    """On a change request's page: the rollout it is a step of, or "Roll out" with the same ids."""
    step = selectors.rollout_step_of(change_request=change_request)
    context = {"cr": change_request, "step": step, "can_propose": _can_propose(request) and step is None}
    return render_to_string("rollouts/_change_request_note.html", context)  # no request: no context processors


def step_owner(change_request) -> int | None:
    """The rollout whose step ``change_request`` is (the one-to-one `RolloutStep.change_request`), or None."""
    step = getattr(change_request, "rollout_step", None)
    return getattr(step, "rollout_id", None)
