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
@pytest.mark.parametrize("behind_proxy", [False, True])
def test_a_client_s_request_id_is_never_the_correlation_id(client, settings, behind_proxy):
    """Not without a proxy, nor through a proxy that is not said to set it (PROXY_REQUEST_ID)."""
    settings.BEHIND_PROXY = behind_proxy
    response = client.get("/healthz", headers={"X-Request-ID": "someone-elses-7f3a.42"})

    assert _is_uuid(response["X-Correlation-ID"])
    assert response["X-Request-ID"] == response["X-Correlation-ID"]  # the id really used, told back


@pytest.mark.django_db
def test_the_trusted_proxy_s_request_id_is_the_correlation_id(client, settings):
    settings.BEHIND_PROXY, settings.PROXY_REQUEST_ID, settings.TRUSTED_PROXIES = True, True, ["10.0.0.0/8"]
    via_proxy = client.get("/healthz", headers={"X-Request-ID": "proxy-7f3a.42"}, REMOTE_ADDR="10.1.2.3")
    around_it = client.get("/healthz", headers={"X-Request-ID": "proxy-7f3a.42"}, REMOTE_ADDR="192.0.2.50")

    assert via_proxy["X-Correlation-ID"] == "proxy-7f3a.42"
    assert _is_uuid(around_it["X-Correlation-ID"]), "a request that did not come through the proxy"


@pytest.mark.django_db
def test_a_client_s_request_id_is_kept_apart_in_the_audit_events_of_its_request():
    recorded = []

    def view(request):
        recorded.append(audit_record(action="change.approved", detail="Approved."))
        recorded.append(audit_record(action="change.apply_started"))
        return HttpResponse("ok")

    request = RequestFactory().get("/", headers={"X-Request-ID": "victims-correlation-id"})
    response = CorrelationIdMiddleware(view)(request)

    assert {event.correlation_id for event in recorded} == {response["X-Correlation-ID"]}
    assert _is_uuid(response["X-Correlation-ID"])
    assert [event.detail for event in recorded] == [
        "Approved. [client request id: victims-correlation-id]",
        "[client request id: victims-correlation-id]",
    ]
    assert audit_record(action="change.applied").detail == "", "outside the request: nothing noted"


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
