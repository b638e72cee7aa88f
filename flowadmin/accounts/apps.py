from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender, **kwargs):
    from flowadmin.accounts.roles import ensure_roles

    ensure_roles()


class AccountsConfig(AppConfig):
    name = "flowadmin.accounts"

    def ready(self):
        from flowadmin.accounts import checks  # noqa: F401 - registers the deploy checks

        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="flowadmin.accounts.ensure_roles")
