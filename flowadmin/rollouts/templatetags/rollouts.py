"""Hooks of the rollouts into other apps' pages.

`{% flowspec_rollouts spec %}`: a flow spec page's rollout panel (roll out, drift, its rollouts).
`{% change_request_rollout cr %}`: on a change request's page, the rollout it is a step of, or a
"Roll out" link that starts one with the same ids.
"""

from django import template

from flowadmin.accounts.roles import PROPOSE_CHANGE
from flowadmin.rollouts import selectors

register = template.Library()


def _can_propose(context) -> bool:
    user = getattr(context.get("request"), "user", None)
    return bool(user is not None and user.has_perm(PROPOSE_CHANGE))


@register.inclusion_tag("rollouts/_flowspec_panel.html", takes_context=True)
def flowspec_rollouts(context, spec):
    return {
        "spec": spec,
        "rollouts": selectors.rollouts_for_spec(spec_id=spec.spec_id),
        "can_propose": _can_propose(context),
    }


@register.inclusion_tag("rollouts/_change_request_note.html", takes_context=True)
def change_request_rollout(context, change_request):
    step = selectors.rollout_step_of(change_request=change_request)
    return {
        "cr": change_request,
        "step": step,
        "can_propose": _can_propose(context) and step is None,
    }
