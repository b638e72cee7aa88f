"""Three cached sandboxes (dev, stage: development; prod: production) with GenericStreamingAEP, and a fake
remote holding the same documents; the change-request services (which apply the steps) use it."""

import pytest

from flowadmin.changes import common as changes_common
from tests.catalog.factories import make_connection_spec, make_flowspec, make_sandbox
from tests.rollouts.fakes import SandboxFakeFlowService

STREAMING_ID = "e77fde5a-22a8-11ed-861d-0242ac120002"
BRAZE = "5decd67e-e6e1-475b-87bf-293fc3d28e1c"
CUSTOMER_IO = "a376ea37-28d0-4fe8-8aae-0041292a2434"
ACME_EVENTS = "bdb5b792-451b-42de-acf8-15f3195821de"  # the new source: no flow spec uses it yet
SEGMENT = "a4b403f5-8147-4e91-ae27-3ebe96ab9316"  # known in every sandbox, used nowhere
UNKNOWN = "00000000-0000-4000-8000-000000000000"
NAMES = {BRAZE: "Braze Currents", CUSTOMER_IO: "Customer.io", ACME_EVENTS: "Acme Events Stream", SEGMENT: "Segment"}
SANDBOXES = {"prod": "production", "stage": "development", "dev": "development"}  # created out of order on purpose
EXTRA = {"x-internalTier": "self-serve-streaming", "optionSpec": {"name": "OptionSpec", "spec": {"type": "object"}}}


@pytest.fixture
def specs(db):
    """GenericStreamingAEP cached in prod, stage and dev (prod lacks Customer.io), keyed by sandbox."""
    cached = {}
    for name, kind in SANDBOXES.items():
        sandbox = make_sandbox(name, type=kind)
        for spec_id, title in NAMES.items():
            make_connection_spec(sandbox, spec_id, title)
        sources = [BRAZE] if name == "prod" else [BRAZE, CUSTOMER_IO]
        cached[name] = make_flowspec(sandbox, STREAMING_ID, "GenericStreamingAEP", sources=sources, **EXTRA)
    return cached


@pytest.fixture
def remote(monkeypatch, specs):
    fake = SandboxFakeFlowService()
    for name, spec in specs.items():
        fake.add(name, spec.document)
    monkeypatch.setattr(changes_common, "get_client", lambda: fake)
    return fake
