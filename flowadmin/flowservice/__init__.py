"""Service layer to Adobe's Flow Service (and IMS and the Sandbox API): pure Python + requests.

Nothing here imports the Django apps; `get_client()` is the one place that reads Django settings.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from flowadmin.flowservice.client import FlowServiceClient
from flowadmin.flowservice.errors import FlowServiceError, OutcomeUnknownError
from flowadmin.flowservice.exchanges import Exchange, recording
from flowadmin.flowservice.retries import RetryNotice, retries_reported

__all__ = [
    "Exchange",
    "FlowServiceClient",
    "FlowServiceError",
    "OutcomeUnknownError",
    "RetryNotice",
    "client_options",
    "get_client",
    "recording",
    "retries_reported",
]

_SETTINGS = {
    "platform_url": "PLATFORM_URL",
    "ims_url": "IMS_URL",
    "client_id": "ADOBE_CLIENT_ID",
    "client_secret": "ADOBE_CLIENT_SECRET",
    "org_id": "ADOBE_ORG_ID",
    "scopes": "ADOBE_SCOPES",
    "connect_timeout": "FLOWSERVICE_CONNECT_TIMEOUT",
    "read_timeout": "FLOWSERVICE_READ_TIMEOUT",
    "max_retries": "FLOWSERVICE_MAX_RETRIES",
    "backoff": "FLOWSERVICE_BACKOFF",
    "backoff_max": "FLOWSERVICE_BACKOFF_MAX",
}

# Configurations remembered; an older one is forgotten (its client is left to whoever still holds it,
# never closed under their feet). Production has one configuration; tests change settings often.
MAX_CONFIGURATIONS = 8

_clients: OrderedDict[tuple, FlowServiceClient] = OrderedDict()
_clients_lock = threading.Lock()


def client_options(settings_object: Any) -> dict[str, Any]:
    """`FlowServiceClient` keyword arguments read from a settings object (Django's or any other)."""
    return {option: getattr(settings_object, name) for option, name in _SETTINGS.items()}


def get_client() -> FlowServiceClient:
    """The shared client for the current Django settings (a new one whenever the configuration changes)."""
    from django.conf import settings

    options = client_options(settings)
    key = tuple(
        (name, hashlib.sha256(str(value).encode()).hexdigest() if name == "client_secret" else value)
        for name, value in options.items()
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = FlowServiceClient(**options)
            while len(_clients) > MAX_CONFIGURATIONS:
                _clients.popitem(last=False)
        else:
            _clients.move_to_end(key)
        return client


def close_clients() -> None:
    """Close every shared client's pooled connections and forget them (tests: before the server goes)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
