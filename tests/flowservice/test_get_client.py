import threading

from flowadmin.flowservice import FlowServiceClient, get_client


def test_get_client_builds_the_client_from_settings(settings):
    settings.PLATFORM_URL = "https://platform.example/"
    settings.IMS_URL = "https://ims.example"
    settings.ADOBE_CLIENT_ID = "cid"
    settings.ADOBE_ORG_ID = "ORG@AdobeOrg"
    settings.FLOWSERVICE_CONNECT_TIMEOUT = 1.0
    settings.FLOWSERVICE_READ_TIMEOUT = 9.0
    settings.FLOWSERVICE_MAX_RETRIES = 2
    client = get_client()
    assert isinstance(client, FlowServiceClient)
    assert client.flow_service_url == "https://platform.example/data/foundation/flowservice"
    assert client.sandbox_api_url == "https://platform.example/data/foundation/sandbox-management"
    assert client.auth.token_url == "https://ims.example/ims/token/v3"
    assert (client.client_id, client.org_id) == ("cid", "ORG@AdobeOrg")
    assert client._transport.timeout == (1.0, 9.0)
    assert client._transport.policy.max_retries == 2


def test_get_client_shares_one_client_per_configuration(settings):
    settings.PLATFORM_URL = "https://one.example"
    first = get_client()
    assert get_client() is first
    settings.PLATFORM_URL = "https://two.example"
    second = get_client()
    assert second is not first
    assert second.platform_url == "https://two.example"
    settings.ADOBE_CLIENT_SECRET = "another-secret"
    assert get_client() is not second
    settings.PLATFORM_URL = "https://one.example"
    settings.ADOBE_CLIENT_SECRET = first.auth._client_secret
    assert get_client() is first


def test_get_client_hands_one_instance_to_many_threads(settings):
    settings.PLATFORM_URL = "https://threads.example"
    clients = []
    threads = [threading.Thread(target=lambda: clients.append(get_client())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in clients}) == 1


def test_the_session_pools_enough_connections_for_concurrent_syncs(settings):
    settings.PLATFORM_URL = "https://pool.example"
    adapter = get_client().session.get_adapter("https://pool.example/")
    assert adapter._pool_maxsize >= 16
    assert adapter.max_retries.total == 0
