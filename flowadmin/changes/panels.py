"""The change-request panels other apps' pages show (registered in `ChangesConfig.ready`).
Rendered without the request: a panel shows nothing of it, and the page's context processors (each
a query or more) would run again for every panel.
"""

from django.template.loader import render_to_string

from flowadmin.catalog.names import names_for
from flowadmin.changes import policy, selectors


def flowspec_panel(request, spec) -> str:
    """A flow spec page's change requests, its open one and the "Propose change" link."""
    sandbox = spec.sandbox.name
    requests = selectors.flowspec_change_requests(sandbox=sandbox, spec_id=spec.spec_id)
    open_request = next((item for item in requests if item.is_open), None)
    if open_request is None:
        open_request = selectors.change_request_open_for(sandbox=sandbox, spec_id=spec.spec_id)
    user = getattr(request, "user", None)
    context = {
        "spec": spec,
        "sandbox": spec.sandbox,
        "change_requests": requests,
        "names": names_for(
            connection_specs=[spec_id for item in requests for spec_id in (*item.added_ids, *item.removed_ids)]
        ),
        "open_request": open_request,
        "can_propose": bool(policy.can_propose(user)) if user is not None else False,
    }
    return render_to_string("changes/_flowspec_panel.html", context)  # no request: no context processors
