from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "flowadmin.policy"
    verbose_name = "Approval policy"
