from django.apps import AppConfig


class EmulatorConfig(AppConfig):
    name = "flowadmin.emulator"
