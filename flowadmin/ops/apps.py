from django.apps import AppConfig


class OpsConfig(AppConfig):
    """What operators need: deploy checks, the real client address behind a proxy, /metrics, JSON logs."""

    name = "flowadmin.ops"
    label = "ops"

    def ready(self):
        from flowadmin.ops import checks  # noqa: F401 (registers the system checks)
