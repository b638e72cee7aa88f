"""The number of pending change requests in the navigation (base.html renders `nav_pending_count`)."""

from flowadmin.changes.selectors import change_request_pending_count


def pending_count(request) -> dict:
    """One COUNT query, for signed-in users only: pending requests awaiting an approver, or all pending."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_pending_count": change_request_pending_count(user=user)}
