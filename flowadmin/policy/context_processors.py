"""The number of freezes in force, in the navigation (base.html renders `nav_frozen_count`)."""

from django.utils import timezone

from flowadmin.policy.models import Freeze


def frozen_count(request) -> dict:
    """One COUNT query, for signed-in users only."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    now = timezone.now()
    count = Freeze.objects.filter(starts_at__lte=now, ends_at__gt=now, lifted_at__isnull=True).count()
    return {"nav_frozen_count": count}
