"""A cached sandbox `dev` with two flow specs and their connection specs, and a fake remote to match."""

import pytest

from flowadmin.changes import common
from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox
from tests.changes.fakes import FakeFlowService

STREAMING_ID = "e77fde5a-22a8-11ed-861d-0242ac120002"
REST_ID = "6499120c-0b15-42dc-936e-847ea3c24d72"
BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
CUSTOMER_IO = "a376ea37-28d0-4fe8-8aae-0041292a2434"
ACME_EVENTS = "bdb5b792-451b-42de-acf8-15f3195821de"  # no flow spec uses it yet
SEGMENT = "a4b403f5-8147-4e91-ae27-3ebe96ab9316"  # no flow spec uses it yet
ACME_LOYALTY = "87d513a3-b4d2-4df7-8ec9-55957c02e0b1"  # used by RestStorageToAEP
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
NAMES = {
    BRAZE: "Braze Currents",
    CUSTOMER_IO: "Customer.io",
    ACME_EVENTS: "Acme Events Stream",
    SEGMENT: "Twilio Segment",
    ACME_LOYALTY: "Acme Loyalty (REST)",
    DATA_LAKE: "Data Lake",
}


@pytest.fixture
def dev(db):
    return make_sandbox("dev")


@pytest.fixture
def streaming_spec(dev):
    return make_flowspec(
        dev,
        STREAMING_ID,
        "GenericStreamingAEP",
        sources=[BRAZE, CUSTOMER_IO],
        **{"x-internalTier": "self-serve-streaming", "optionSpec": {"name": "OptionSpec", "spec": {"type": "object"}}},
    )


@pytest.fixture
def rest_spec(dev):
    return make_flowspec(dev, REST_ID, "RestStorageToAEP", sources=[ACME_LOYALTY], frequency="batch")


@pytest.fixture
def catalog(dev, streaming_spec, rest_spec):
    for spec_id, name in NAMES.items():
        make_connection_spec(dev, spec_id, name)
    return dev


@pytest.fixture
def remote(monkeypatch, catalog, streaming_spec, rest_spec):
    """The fake Flow Service, holding the same documents as the cache; the services use it."""
    fake = FakeFlowService()
    fake.add("dev", streaming_spec.document)
    fake.add("dev", rest_spec.document)
    monkeypatch.setattr(common, "get_client", lambda: fake)
    return fake


@pytest.fixture
def grace_zero(settings):
    settings.FLOWADMIN_APPLY_GRACE_SECONDS = 0
