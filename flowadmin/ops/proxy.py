"""The real client behind a trusted reverse proxy: its address and whether its headers are the proxy's.

Behind a proxy (``BEHIND_PROXY``), every request reaches flowadmin from the proxy, which appends the
address it saw to ``PROXY_CLIENT_IP_HEADER`` (``X-Forwarded-For``). Entries to the left of the ones
the trusted proxies appended are the client's own words: with ``TRUSTED_PROXY_COUNT`` proxies, the
client is the entry that many places from the right (django-ipware parses the chain). Without a
proxy, or from an address outside ``TRUSTED_PROXIES`` when that is set, the header is ignored and the
connection's address is the client's. The login throttle (django-axes, ``AXES_CLIENT_IP_CALLABLE``),
the /metrics allow list and the correlation id all go through here.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from ipware.ip import get_client_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; raises ValueError naming the first entry that is neither."""
    parsed = []
    for entry in entries:
        text = entry.strip()
        try:
            parsed.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(parsed)


def address_in(address: str | None, entries) -> bool:
    """Whether ``address`` lies in one of ``entries`` (addresses or CIDRs); False for no or a bad address."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks(tuple(entries)))


def via_trusted_proxy(request: HttpRequest) -> bool:
    """True when the request came through the trusted proxy, so its forwarded headers are the proxy's."""
    if not settings.BEHIND_PROXY:
        return False
    trusted = settings.TRUSTED_PROXIES
    return not trusted or address_in(request.META.get("REMOTE_ADDR"), trusted)


def _meta_key(header: str) -> str:
    return "HTTP_" + header.strip().upper().replace("-", "_")


def client_address(request: HttpRequest) -> str | None:
    """The real client's address: from the trusted proxy's header when there is one, else the peer's."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not via_trusted_proxy(request):
        return remote
    address, _ = get_client_ip(
        request,
        proxy_order="left-most",
        # ipware counts the proxies listed in the header: the last proxy appends the client (or the
        # proxy before it), so N proxies list N - 1 of themselves.
        proxy_count=settings.TRUSTED_PROXY_COUNT - 1,
        request_header_order=[_meta_key(settings.PROXY_CLIENT_IP_HEADER)],
        strict=False,
    )
    return address or remote
