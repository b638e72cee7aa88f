from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "flowadmin.changes"

    def ready(self):
        from flowadmin import panels
        from flowadmin.changes.panels import flowspec_panel

        panels.register("flowspec", "change_requests", order=10, render=flowspec_panel)
