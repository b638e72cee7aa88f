from django.apps import AppConfig


class RolloutsConfig(AppConfig):
    name = "flowadmin.rollouts"

    def ready(self):
        from flowadmin import panels
        from flowadmin.changes import owners
        from flowadmin.rollouts import panels as rollout_panels

        panels.register("flowspec", "rollouts", order=20, render=rollout_panels.flowspec_panel)
        panels.register("change_request", "rollout", order=10, render=rollout_panels.change_request_panel)
        owners.register(rollout_panels.step_owner)
