from django.urls import path, re_path

from flowadmin.emulator import views, views_dataflows

app_name = "emulator"

FLOWSERVICE = r"^data/foundation/flowservice/"
SANDBOX_MANAGEMENT = r"^data/foundation/sandbox-management/"

urlpatterns = [
    path("", views.index, name="index"),
    path("ims/token/v3", views.ims_token, name="ims-token"),
    re_path(FLOWSERVICE + r"flowSpecs/?$", views.flow_specs, name="flow-specs"),
    re_path(FLOWSERVICE + r"flowSpecs/(?P<spec_id>[^/]+)/?$", views.flow_spec, name="flow-spec"),
    re_path(FLOWSERVICE + r"connectionSpecs/?$", views.connection_specs, name="connection-specs"),
    re_path(FLOWSERVICE + r"connectionSpecs/(?P<spec_id>[^/]+)/?$", views.connection_spec, name="connection-spec"),
    re_path(FLOWSERVICE + r"flows/?$", views_dataflows.flows, name="flows"),
    re_path(FLOWSERVICE + r"flows/(?P<flow_id>[^/]+)/?$", views_dataflows.flow, name="flow"),
    re_path(FLOWSERVICE + r"flows/(?P<flow_id>[^/]+)/action/?$", views_dataflows.flow_action, name="flow-action"),
    re_path(FLOWSERVICE + r"sourceConnections/?$", views_dataflows.source_connections, name="source-connections"),
    re_path(
        FLOWSERVICE + r"sourceConnections/(?P<connection_id>[^/]+)/?$",
        views_dataflows.source_connection,
        name="source-connection",
    ),
    re_path(SANDBOX_MANAGEMENT + r"sandboxes/?$", views.sandboxes, name="sandboxes"),
    path("data/foundation/sandbox-management/", views.available_sandboxes, name="available-sandboxes"),
    path("data/foundation/sandbox-management", views.available_sandboxes),
    path("_log", views.request_log, name="log"),
    path("_faults", views.fault_rules, name="faults"),
    re_path(r"^(?P<rest>.+)$", views.unknown_path, name="unknown"),
]
