"""The comparison of flowadmin's sync with aepp (`bench/aepp_compare.py`): the loopback guard, aepp pointed
at the emulator (when aepp is installed: `make bench` installs it), and the targets it reports."""

from __future__ import annotations

import os
import socket

import pytest

from bench import aepp_compare
from bench.report import _aepp_table, _aepp_targets
from tests.fixtures.emulator import FLOW_SPECS


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts(host):
    assert aepp_compare.is_loopback(host)


@pytest.mark.parametrize(
    "host", ["192.0.2.1", "10.0.0.1", "platform.adobe.io", "", "127.0.0.1.example.com", "::ffff:192.0.2.1"]
)
def test_other_hosts(host):
    assert not aepp_compare.is_loopback(host)


def test_only_loopback_urls_pass():
    assert aepp_compare.require_loopback("http://127.0.0.1:8000/emulator") == "http://127.0.0.1:8000/emulator"
    for url in ("https://platform.adobe.io", "https://ims-na1.adobelogin.com/ims/token/v3", "file:///etc/passwd"):
        with pytest.raises(aepp_compare.NotLoopbackError):
            aepp_compare.require_loopback(url)


@pytest.fixture
def guarded(monkeypatch):
    """The guard installed over a recording stand-in for the socket's own connect (nothing leaves the machine)."""
    reached = []

    def stand_in(sock, address):
        reached.append(address)

    monkeypatch.setattr(socket.socket, "connect", stand_in)
    monkeypatch.setattr(socket.socket, "connect_ex", stand_in)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    aepp_compare.loopback_only()
    return reached


def test_guard_refuses_other_addresses_before_connecting(guarded):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(aepp_compare.NotLoopbackError):
            sock.connect(("192.0.2.1", 443))
        with pytest.raises(aepp_compare.NotLoopbackError):
            sock.connect_ex(("192.0.2.1", 443))
        sock.connect(("127.0.0.1", 9))
    assert guarded == [("127.0.0.1", 9)]


def test_guard_bypasses_proxies_for_loopback(guarded):
    assert "127.0.0.1" in os.environ["NO_PROXY"]


def test_aepp_is_refused_any_address_but_loopback(monkeypatch):
    config = pytest.importorskip("aepp.config")
    monkeypatch.setitem(config.endpoints, "global", config.endpoints["global"])
    options = {"client_id": "c", "secret": "s", "org_id": "o@AdobeOrg", "scopes": "openid"}
    with pytest.raises(aepp_compare.NotLoopbackError):
        aepp_compare.aepp_config(platform_url="https://platform.adobe.io", ims_url="http://127.0.0.1:1", **options)
    with pytest.raises(aepp_compare.NotLoopbackError):
        aepp_compare.aepp_config(platform_url="http://127.0.0.1:1", ims_url="https://ims-na1.adobelogin.com", **options)


def test_aepp_reads_the_emulators_flow_specs(emulator, settings, monkeypatch):
    """aepp's own FlowService, as the bench configures it, authenticates at the emulator's IMS and lists a
    sandbox's flow specs over HTTP."""
    config = pytest.importorskip("aepp.config")
    monkeypatch.setitem(config.endpoints, "global", config.endpoints["global"])
    connect = aepp_compare.aepp_config(
        platform_url=emulator.url,
        ims_url=emulator.url,
        client_id=settings.ADOBE_CLIENT_ID,
        secret=settings.ADOBE_CLIENT_SECRET,
        org_id=settings.ADOBE_ORG_ID,
        scopes=settings.ADOBE_SCOPES,
    )
    expected = len(emulator.get(FLOW_SPECS, sandbox="dev").json()["items"])
    emulator.clear_log()
    result = aepp_compare.aepp_read(connect, ["dev", "stage"], specs_each=expected)
    assert result["failed"] == 0
    assert result["flow_specs"] == 2 * expected
    calls = [(entry["method"], entry["path"], entry["sandbox"], entry["status"]) for entry in emulator.log()]
    assert calls == [
        ("POST", "/ims/token/v3", None, 200),
        ("GET", FLOW_SPECS, "dev", 200),
        ("GET", FLOW_SPECS, "stage", 200),
    ]


def _row(sandboxes, cold, warm, aepp, failed=0):
    run = {"requests": 1, "failed": 0}
    return {
        "sandboxes": sandboxes,
        "cold": {**run, "seconds": cold, "failed": failed},
        "warm": {**run, "seconds": warm},
        "aepp": {**run, "seconds": aepp},
        "ratio_cold": round(cold / aepp, 2),
        "ratio_warm": round(warm / aepp, 2),
    }


def test_target_met_only_when_cold_and_warm_are_no_slower_than_aepp():
    compare = {
        "aepp_version": "0.6.0",
        "latency_ms": 50,
        "repeat": 3,
        "sizes": [_row(3, 0.2, 0.1, 0.15), _row(50, 1.0, 0.5, 2.0), _row(200, 4.0, 3.0, 4.0, failed=1)],
    }
    assert [target["met"] for target in _aepp_targets(compare)] == [False, True, False]
    table = "\n".join(_aepp_table(compare))
    assert "MISSED" in table.splitlines()[-3]
    assert table.splitlines()[-2].endswith("MET")
    assert _aepp_table({"skipped": "aepp is not installed"}) == ["\nsync vs aepp: skipped (aepp is not installed)"]
