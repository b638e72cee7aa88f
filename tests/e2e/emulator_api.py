"""The embedded emulator's control endpoints over HTTP, as docs/INTERFACES.md describes them.

    api = EmulatorApi(server.url)
    api.add_fault(action="respond", method="PUT", path="/data/foundation/flowservice/flowSpecs/*", status=503)
    api.log(method="PUT")   # [{"method", "path", "sandbox", "status", "at"}, ...], oldest first
    api.clear_faults(); api.clear_log()
    api.call("GET", "/data/foundation/flowservice/flowSpecs/<id>", sandbox="dev")  # the emulated API itself

The bearer token comes from the emulator's IMS (``POST /emulator/ims/token/v3``) with the demo client.
"""

from __future__ import annotations

import requests

from .server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ORG_ID

DEMO_SCOPES = "openid,session,AdobeID,read_organizations,additional_info.projectedProductContext"
FAULT_KEYS = frozenset({"method", "path", "sandbox", "action", "status", "shape", "retry_after", "delay_ms", "times"})
FAULT_ACTIONS = frozenset({"respond", "delay", "drop", "malformed", "apply_then_drop"})
TIMEOUT = (3.05, 30)


class EmulatorApiError(AssertionError):
    """The emulator refused a control call; the message has the status and the body."""


class EmulatorApi:
    def __init__(
        self,
        server_url: str,
        *,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        org_id: str = DEMO_ORG_ID,
    ):
        self.base_url = server_url.rstrip("/") + "/emulator"
        self.client_id = client_id
        self._client_secret = client_secret
        self.org_id = org_id
        self._token: str | None = None
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"EmulatorApi({self.base_url!r}, client_id={self.client_id!r})"

    # --- auth ---------------------------------------------------------------------------------
    def token(self, *, renew: bool = False) -> str:
        if self._token is None or renew:
            response = self._session.post(
                f"{self.base_url}/ims/token/v3",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._client_secret,
                    "scope": DEMO_SCOPES,
                },
                timeout=TIMEOUT,
            )
            self._raise_for(response, "token")
            self._token = response.json()["access_token"]
        return self._token

    @property
    def used(self) -> bool:
        return self._token is not None

    # --- faults -------------------------------------------------------------------------------
    def add_fault(self, *, action: str, **rule) -> dict:
        """Add one fault rule; keys as in docs/INTERFACES.md (``path`` is a glob after ``/emulator``)."""
        unknown = set(rule) - FAULT_KEYS
        if unknown:
            raise TypeError(f"unknown fault rule keys: {sorted(unknown)}")
        if action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {action!r}; one of {sorted(FAULT_ACTIONS)}")
        response = self._call("POST", "/_faults", json={"action": action, **rule})
        return response.json() if response.content else {}

    def faults(self) -> list[dict]:
        body = self._call("GET", "/_faults").json()
        return body["faults"] if isinstance(body, dict) else body

    def clear_faults(self) -> None:
        self._call("DELETE", "/_faults")

    # --- request log --------------------------------------------------------------------------
    def log(self, *, method: str | None = None, sandbox: str | None = None, path: str | None = None) -> list[dict]:
        filters = {"method": method, "sandbox": sandbox, "path": path}
        params = {key: value for key, value in filters.items() if value}
        return self._call("GET", "/_log", params=params).json()["requests"]

    def clear_log(self) -> None:
        self._call("DELETE", "/_log")

    # --- the emulated API itself --------------------------------------------------------------
    def call(self, method: str, path: str, *, sandbox: str | None = None, **kwargs) -> requests.Response:
        """One request to the emulated API as flowadmin's client would send it; the response is not checked.

        ``path`` follows ``/emulator``, e.g. ``/data/foundation/flowservice/flowSpecs/<id>``.
        """
        headers = self._headers() | ({"x-sandbox-name": sandbox} if sandbox else {}) | kwargs.pop("headers", {})
        return self._session.request(method, self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs)

    def close(self) -> None:
        self._session.close()

    # --- internals ----------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        def send() -> requests.Response:
            return self._session.request(
                method, self.base_url + path, headers=self._headers(), timeout=TIMEOUT, **kwargs
            )

        response = send()
        if response.status_code == 401:  # token expired or the emulator was reset: renew once
            self.token(renew=True)
            response = send()
        self._raise_for(response, f"{method} {path}")
        return response

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token()}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
            "Accept": "application/json",
        }

    @staticmethod
    def _raise_for(response: requests.Response, what: str) -> None:
        if response.status_code >= 400:
            raise EmulatorApiError(f"emulator {what}: HTTP {response.status_code}: {response.text[:500]}")
