"""The client's session takes proxies and the CA bundle from the environment, and no credentials from ~/.netrc."""

import requests

from flowadmin.flowservice.session import Session

PLATFORM = "https://platform.example/data/foundation/flowservice/flowSpecs"


def settings_for(session: Session, url: str = PLATFORM) -> dict:
    return session.merge_environment_settings(url, {}, None, None, None)


def test_proxies_and_ca_bundle_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    merged = settings_for(Session())

    assert merged["proxies"]["https"] == "http://proxy.example:3128"
    assert merged["verify"] == "/etc/ssl/corporate.pem"


def test_a_host_in_no_proxy_is_reached_directly(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "platform.example")

    session = Session()

    assert "https" not in settings_for(session)["proxies"]
    assert settings_for(session, "https://ims.example/ims/token/v3")["proxies"]["https"] == "http://proxy.example:3128"


def test_the_environment_is_read_at_a_host_s_first_request(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = Session()
    settings_for(session)

    monkeypatch.setenv("HTTPS_PROXY", "http://other-proxy.example:3128")

    assert settings_for(session)["proxies"]["https"] == "http://proxy.example:3128"


def test_a_netrc_entry_for_the_host_does_not_replace_the_bearer_token(monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine platform.example login someone password their-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    request = requests.Request("GET", PLATFORM, headers={"Authorization": "Bearer the-token"})

    assert requests.Session().prepare_request(request).headers["Authorization"].startswith("Basic ")
    assert Session().prepare_request(request).headers["Authorization"] == "Bearer the-token"
