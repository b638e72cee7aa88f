"""A fake Adobe (IMS + Flow Service + Sandbox API) mounted as a `requests` transport adapter.

Unscripted calls get sensible answers from a small in-memory model; `fake.script(...)` queues
exact replies (or exceptions) for the next matching calls.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError

from flowadmin.flowservice import FlowServiceClient

PLATFORM = "https://platform.test"
IMS = "https://ims.test"
FLOW = PLATFORM + "/data/foundation/flowservice"
SANDBOXES = PLATFORM + "/data/foundation/sandbox-management/sandboxes"
TOKEN_URL = IMS + "/ims/token/v3"

CLIENT_ID = "client-id-123"
CLIENT_SECRET = "SeCrEt-client-secret-7f3a9"
ORG_ID = "ORG123@AdobeOrg"
SCOPES = "openid,AdobeID,read_organizations"
TOKEN_PREFIX = "AcCeSs-token-5c2e-"

STREAMING_ID = "e77fde5a-22a8-11ed-861d-0242ac120002"
NEW_SOURCE_ID = "bdb5b792-451b-42de-acf8-15f3195821de"
DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


def streaming_spec(**changes) -> dict:
    document = {
        "id": STREAMING_ID,
        "name": "GenericStreamingAEP",
        "providerId": "521eee4d-8cbe-4906-bb48-fb6bd4450033",
        "version": "1.0",
        "attributes": {"notification": {"category": "sources", "flowRun": {"enabled": False}}},
        "sourceConnectionSpecIds": ["d8a6f005-7eaf-4153-983e-e8574508b877"],
        "targetConnectionSpecIds": [DATA_LAKE],
        "optionSpec": {"name": "OptionSpec", "spec": {"type": "object", "properties": {}}},
        "permissionsInfo": {"view": [{"@type": "lowLevel", "name": "EnterpriseSource", "permissions": ["read"]}]},
        "undocumentedFlag": {"keep": ["me", 1, None]},
        "createdAt": 1660000000000,
        "updatedAt": 1660000000000,
        "createdBy": "someone@AdobeID",
        "updatedBy": "someone@AdobeID",
        "createdClient": "exc_app",
        "updatedClient": "exc_app",
        "sandboxId": "7e1d6ad7-0000-0000-0000-000000000000",
        "sandboxName": "dev",
        "imsOrgId": ORG_ID,
    }
    document.update(changes)
    return document


@dataclass
class Reply:
    """A scripted answer: status, JSON (or raw text) body, headers."""

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


@dataclass
class Seen:
    method: str
    url: str
    headers: CaseInsensitiveDict
    body: bytes | str | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query)

    def json(self) -> Any:
        return json.loads(self.body)


def refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/", reason))


def dropped() -> requests.ConnectionError:
    return requests.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection'))")


class FakeAdobe(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.scripts: list[tuple[str, str, list]] = []
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.expires_in: Any = 86399
        self.token_gate: threading.Event | None = None
        self.flow_specs: dict[str, dict[str, dict]] = {"dev": {STREAMING_ID: streaming_spec()}}
        self.connection_specs: dict[str, dict] = {
            NEW_SOURCE_ID: {"id": NEW_SOURCE_ID, "name": "My streaming source", "providerId": "x", "version": "1.0"},
            DATA_LAKE: {"id": DATA_LAKE, "name": "Data Lake", "providerId": "y", "version": "1.0"},
        }
        self.sandboxes = [
            {"name": "prod", "title": "Production", "state": "active", "type": "production"},
            {"name": "dev", "title": "Development", "state": "active", "type": "development"},
        ]
        self.put_answer_wrapped = True

    # --- scripting -----------------------------------------------------------------------------
    def script(self, method: str, path: str, *replies) -> None:
        """Queue replies (`Reply`, or an exception to raise) for the next calls matching method and path glob."""
        self.scripts.append((method, path, list(replies)))

    def calls(self, method: str | None = None, path: str = "*") -> list[Seen]:
        return [s for s in self.seen if (method is None or s.method == method) and fnmatch.fnmatch(s.path, path)]

    # --- adapter -------------------------------------------------------------------------------
    def send(self, request, **kwargs):
        seen = Seen(request.method, request.url, CaseInsensitiveDict(request.headers), request.body)
        with self.lock:
            self.seen.append(seen)
            scripted = self._scripted(seen)
        if isinstance(scripted, BaseException):
            scripted.request = request
            raise scripted
        reply = scripted or self._answer(seen)
        return self._response(request, reply)

    def close(self) -> None:
        pass

    def _scripted(self, seen: Seen):
        for method, path, replies in self.scripts:
            if method == seen.method and fnmatch.fnmatch(seen.path, path) and replies:
                return replies.pop(0)
        return None

    @staticmethod
    def _response(request, reply: Reply) -> requests.Response:
        response = requests.Response()
        response.status_code = reply.status
        response.reason = reply.reason
        response.request = request
        response.url = request.url
        headers = dict(reply.headers)
        if reply.text is not None:
            response._content = reply.text.encode()
        elif reply.json is not None:
            response._content = json.dumps(reply.json).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            response._content = b""
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = "utf-8"
        return response

    # --- the model -----------------------------------------------------------------------------
    def _answer(self, seen: Seen) -> Reply:
        if seen.path == "/ims/token/v3":
            return self._token(seen)
        auth = seen.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return Reply(401, {"error_code": "401013", "message": "Oauth token is not valid"})
        if seen.path.endswith("/sandbox-management/sandboxes"):
            query = dict(seen.query)
            limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
            page = self.sandboxes[offset : offset + limit]
            more = offset + limit < len(self.sandboxes)
            nxt = f"/sandboxes?limit={limit}&offset={offset + limit}" if more else ""
            return Reply(
                200,
                {"sandboxes": page, "_page": {"limit": limit, "count": len(page)}, "_links": {"next": {"href": nxt}}},
            )
        sandbox = seen.headers.get("x-sandbox-name")
        if not sandbox:
            return Reply(400, flow_error("2105-400", "Missing sandbox header", 400))
        rest = seen.path.removeprefix("/data/foundation/flowservice")
        kind, _, spec_id = rest.strip("/").partition("/")
        store = self.flow_specs.setdefault(sandbox, {}) if kind == "flowSpecs" else self.connection_specs
        if seen.method == "GET" and not spec_id:
            return Reply(200, {"items": [d for d in store.values() if self._matches(d, seen)]})
        if seen.method == "GET":
            if spec_id not in store:
                return Reply(404, flow_error("1101-404", "Resource not found", 404, f"{spec_id} not found"))
            return Reply(200, {"items": [store[spec_id]]})
        if seen.method == "PUT" and kind == "flowSpecs":
            if spec_id not in store:
                return Reply(404, flow_error("1101-404", "Resource not found", 404))
            updated = {
                **seen.json(),
                "updatedAt": 1700000000000,
                "updatedBy": "flowadmin@AdobeID",
                "sandboxName": sandbox,
            }
            store[spec_id] = updated
            return Reply(200, {"items": [updated]} if self.put_answer_wrapped else updated)
        return Reply(405, flow_error("0000-405", "Method not allowed", 405))

    def _token(self, seen: Seen) -> Reply:
        if self.token_gate is not None:
            self.token_gate.wait(5)
        form = parse_qs(seen.body if isinstance(seen.body, str) else (seen.body or b"").decode())
        if form.get("client_secret") != [CLIENT_SECRET]:
            return Reply(401, {"error": "invalid_client", "error_description": "invalid client_secret parameter"})
        with self.lock:
            self.tokens_issued += 1
            token = f"{TOKEN_PREFIX}{self.tokens_issued}"
            self.valid_tokens.add(token)
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": self.expires_in})

    @staticmethod
    def _matches(document: dict, seen: Seen) -> bool:
        for name, value in seen.query:
            if name != "property":
                continue
            key, _, wanted = value.partition("==")
            if str(document.get(key)) not in wanted.split(","):
                return False
        return True


def flow_error(code: str, title: str, status: int, detail: str = "", request_id: str = "req-body-1") -> dict:
    return {
        "type": f"https://ns.adobe.com/aep/errors/FLOW-{code}",
        "title": title,
        "status": status,
        "report": {"detailed-message": detail or title, "request-id": request_id},
        "errorMessage": detail or title,
    }


@pytest.fixture
def fake() -> FakeAdobe:
    return FakeAdobe()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def make_client(fake, waits):
    clients = []

    def make(**overrides) -> FlowServiceClient:
        session = requests.Session()
        session.mount("https://", fake)
        options = {
            "platform_url": PLATFORM,
            "ims_url": IMS,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "org_id": ORG_ID,
            "scopes": SCOPES,
            "max_retries": 3,
            "backoff": 0.1,
            "backoff_max": 2.0,
            "sleep": waits.append,
            "rng": lambda: 1.0,
            "session": session,
        }
        options.update(overrides)
        client = FlowServiceClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client) -> FlowServiceClient:
    return make_client()
