import pytest

from flowadmin.catalog import sync
from tests.catalog.fakes import DATA_LAKE, HTTP_API, S3, STREAMING_ID, FakeClient, connection_spec, flow_spec


@pytest.fixture
def fake_client(monkeypatch, settings):
    """A fake Flow Service with sandboxes dev (two specs) and prod, used by every catalog service."""
    settings.FLOWADMIN_SANDBOXES = []
    client = FakeClient()
    client.add_sandbox("prod", type="production", isDefault=True)
    client.add_sandbox("dev")
    for name in ("dev", "prod"):
        client.flow_specs[name] = [
            flow_spec(STREAMING_ID, "GenericStreamingAEP", sources=[HTTP_API]),
            flow_spec("6499120c-0b15-42dc-936e-847ea3c24d72", "RestStorageToAEP", sources=[S3], frequency="batch"),
        ]
        client.connection_specs[name] = [
            connection_spec(S3, "Amazon S3"),
            connection_spec(HTTP_API, "HTTP API"),
            connection_spec(DATA_LAKE, "Data Lake"),
        ]
    monkeypatch.setattr(sync, "get_client", lambda: client)
    return client
