import uuid

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from flowadmin.audit.correlation import correlation, correlation_id_current
from flowadmin.audit.middleware import CorrelationIdMiddleware
from flowadmin.audit.services import audit_record


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@pytest.mark.django_db
def test_every_response_carries_a_generated_correlation_id(client):
    response = client.get("/healthz")

    assert _is_uuid(response["X-Correlation-ID"])
    assert client.get("/healthz")["X-Correlation-ID"] != response["X-Correlation-ID"]


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "proxy-7f3a.42"})

    assert response["X-Correlation-ID"] == "proxy-7f3a.42"


@pytest.mark.django_db
@pytest.mark.parametrize("incoming", ["<script>alert(1)</script>", "x" * 65, "two words", "-leading-dash"])
def test_an_unusable_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert _is_uuid(response["X-Correlation-ID"])


@pytest.mark.django_db
def test_events_recorded_during_a_request_carry_its_correlation_id():
    recorded = []

    def view(request):
        recorded.append(audit_record(action="change.approved"))
        recorded.append(audit_record(action="change.apply_started"))
        return HttpResponse("ok")

    response = CorrelationIdMiddleware(view)(RequestFactory().get("/"))

    assert {event.correlation_id for event in recorded} == {response["X-Correlation-ID"]}
    assert correlation_id_current() is None


def test_the_correlation_context_nests_and_restores():
    with correlation("outer") as outer:
        with correlation() as inner:
            assert correlation_id_current() == inner != outer
        assert correlation_id_current() == "outer"
    assert correlation_id_current() is None
