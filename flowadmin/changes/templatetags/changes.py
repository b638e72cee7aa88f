"""`{% flowspec_change_requests spec %}`: the change-request panel of a flow spec's page (catalog hook)."""

from django import template

from flowadmin.accounts.roles import PROPOSE_CHANGE
from flowadmin.catalog.names import names_for
from flowadmin.changes import selectors

register = template.Library()


@register.inclusion_tag("changes/_flowspec_panel.html", takes_context=True)
def flowspec_change_requests(context, spec):
    request = context.get("request")
    user = getattr(request, "user", None)
    sandbox = spec.sandbox.name
    requests = selectors.flowspec_change_requests(sandbox=sandbox, spec_id=spec.spec_id)
    open_request = next((item for item in requests if item.is_open), None)
    if open_request is None:
        open_request = selectors.change_request_open_for(sandbox=sandbox, spec_id=spec.spec_id)
    return {
        "spec": spec,
        "sandbox": spec.sandbox,
        "change_requests": requests,
        "names": names_for(
            connection_specs=[spec_id for item in requests for spec_id in (*item.added_ids, *item.removed_ids)]
        ),
        "open_request": open_request,
        "can_propose": bool(user is not None and user.has_perm(PROPOSE_CHANGE)),
    }
