from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "flowadmin.audit"

    def ready(self) -> None:
        from flowadmin.audit import checks  # noqa: F401 - registers the system checks
