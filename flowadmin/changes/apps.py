from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "flowadmin.changes"
