"""The Flow Service client: flow specs, connection specs and sandboxes over one pooled session."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from flowadmin.flowservice.auth import ImsTokenProvider
from flowadmin.flowservice.errors import (
    CODE_FOREIGN_LINK,
    CODE_MALFORMED,
    CODE_NOT_FOUND,
    CODE_PAGINATION_LOOP,
    TITLE_FOREIGN_LINK,
    TITLE_MALFORMED,
    TITLE_NOT_FOUND,
    TITLE_PAGINATION_LOOP,
    FlowServiceError,
    OutcomeUnknownError,
)
from flowadmin.flowservice.exchanges import Exchange, recording
from flowadmin.flowservice.retries import RetryPolicy
from flowadmin.flowservice.session import Session
from flowadmin.flowservice.transport import Transport

__all__ = ["Exchange", "FlowServiceClient", "PreparedRequest", "prepared_put", "recording"]

FLOW_SERVICE_PATH = "/data/foundation/flowservice"
SANDBOX_API_PATH = "/data/foundation/sandbox-management"
POOL_SIZE = 16  # connections kept per host: enough for the concurrent syncs of every sandbox
SANDBOX_PAGE_SIZE = 50
MAX_PAGES = 1000


MASK = "***"  # what a shown request has in place of the bearer token and the API key


@dataclass(frozen=True)
class PreparedRequest:
    """A request as the client sends it, safe to show: the token and API key masked, nothing else changed."""

    method: str
    url: str
    headers: dict[str, str]
    body: str

    def curl(self) -> str:
        """The request as a copyable curl command."""
        parts = [f"curl -X {self.method} {shlex.quote(self.url)}"]
        parts += [f"  -H {shlex.quote(f'{name}: {value}')}" for name, value in self.headers.items()]
        if self.body:
            parts.append(f"  --data-raw {shlex.quote(self.body)}")
        return " \\\n".join(parts)


def request_headers(*, token: str, api_key: str, org_id: str, sandbox: str | None, json_body: bool = False) -> dict:
    """The headers of every Flow Service request, in the order they are sent."""
    headers = {"Authorization": f"Bearer {token}", "x-api-key": api_key, "x-gw-ims-org-id": org_id}
    if sandbox is not None:
        headers["x-sandbox-name"] = sandbox.strip().lower()
    if json_body:
        headers["Content-Type"] = "application/json"
    headers["Accept"] = "application/json"
    return headers


def prepared_put(*, platform_url: str, org_id: str, sandbox: str, spec_id: str, body: dict) -> PreparedRequest:
    """The PUT of a flow spec with ``body`` (sent as it is given), secrets masked: what
    `FlowServiceClient.put_flow_spec` sends, and what a preview shows."""
    return PreparedRequest(
        method="PUT",
        url=f"{platform_url.rstrip('/')}{FLOW_SERVICE_PATH}/flowSpecs/{_segment(spec_id)}",
        headers=request_headers(token=MASK, api_key=MASK, org_id=org_id, sandbox=sandbox, json_body=True),
        body=json.dumps(body, ensure_ascii=False),
    )


class FlowServiceClient:
    """Calls Adobe's Flow Service and Sandbox API; every failure raises `FlowServiceError`.

    Thread-safe: share one instance (see `flowadmin.flowservice.get_client`).
    """

    def __init__(
        self,
        *,
        platform_url: str,
        ims_url: str,
        client_id: str,
        client_secret: str,
        org_id: str,
        scopes: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        sleep: Callable[[float], Any] = time.sleep,
        rng: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        pool_size: int = POOL_SIZE,
        session: requests.Session | None = None,
    ) -> None:
        self.platform_url = platform_url.rstrip("/")
        self._origin = _origin(self.platform_url)
        self.flow_service_url = self.platform_url + FLOW_SERVICE_PATH
        self.sandbox_api_url = self.platform_url + SANDBOX_API_PATH
        self.client_id = client_id
        self.org_id = org_id
        if session is None:
            session = Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        policy_options = {"rng": rng} if rng is not None else {}
        policy = RetryPolicy(
            max_retries=max_retries, backoff=backoff, backoff_max=backoff_max, sleep=sleep, **policy_options
        )
        self._transport = Transport(
            session=session,
            timeout=(connect_timeout, read_timeout),
            policy=policy,
            secrets=lambda: self._auth.secrets(),
        )
        self._auth = ImsTokenProvider(
            ims_url=ims_url,
            client_id=client_id,
            client_secret=client_secret,
            scopes=scopes,
            transport=self._transport,
            clock=clock,
        )

    def __repr__(self) -> str:
        return (
            f"FlowServiceClient(platform_url={self.platform_url!r}, client_id={self.client_id!r}, "
            f"org_id={self.org_id!r})"
        )

    @property
    def auth(self) -> ImsTokenProvider:
        return self._auth

    @staticmethod
    def recording():
        """``with client.recording() as exchanges:`` collects this thread's exchanges made in the block."""
        return recording()

    def close(self) -> None:
        self.session.close()

    # --- flow specs ----------------------------------------------------------------------------
    def list_flow_specs(self, sandbox: str, *, properties: list[str] | None = None) -> list[dict]:
        """Every flow spec of ``sandbox`` matching all ``properties`` filters (``"name==X"``); follows paging."""
        return self._list_items(sandbox, "/flowSpecs", properties)

    def get_flow_spec(self, sandbox: str, spec_id: str) -> dict:
        return self._get_one(sandbox, "/flowSpecs", spec_id, "flow spec")

    def put_request(self, sandbox: str, spec_id: str, body: dict) -> PreparedRequest:
        """The PUT `put_flow_spec` sends for ``body``, with the token and API key masked."""
        return prepared_put(
            platform_url=self.platform_url, org_id=self.org_id, sandbox=sandbox, spec_id=spec_id, body=body
        )

    def put_flow_spec(self, sandbox: str, spec_id: str, body: dict) -> dict:
        """Replace the flow spec with ``body`` (a whole document without its read-only metadata: the
        caller's `documents.put_body`); return the answer document. Sends `put_request` as prepared.

        Never repeated once it may have reached the server: a lost answer raises `OutcomeUnknownError`.
        """
        prepared = self.put_request(sandbox, spec_id, body)
        payload, exchange = self._transport.call(
            prepared.method,
            prepared.url,
            headers=lambda: self._headers(sandbox, json_body=True),
            data=prepared.body.encode("utf-8"),
            idempotent=False,
            on_unauthorized=self._renew,
        )
        answer = _unwrap(payload)
        if answer is None:
            # A 2xx whose body carries no document: most likely applied, but only a read can tell.
            raise OutcomeUnknownError(
                status=exchange.status,
                detail=f"The PUT to {exchange.url} was answered without a flow spec; read the document back",
                request_id=exchange.request_id,
                exchange=exchange,
            )
        return answer

    # --- connection specs ----------------------------------------------------------------------
    def list_connection_specs(self, sandbox: str, *, properties: list[str] | None = None) -> list[dict]:
        return self._list_items(sandbox, "/connectionSpecs", properties)

    def get_connection_spec(self, sandbox: str, spec_id: str) -> dict:
        return self._get_one(sandbox, "/connectionSpecs", spec_id, "connection spec")

    # --- dataflows and source connections -------------------------------------------------------
    def list_flows(self, sandbox: str, *, properties: list[str] | None = None, limit: int | None = None) -> list[dict]:
        """Every dataflow of ``sandbox`` matching all ``properties`` filters; ``limit`` a page, paging followed."""
        return self._list_items(sandbox, "/flows", properties, limit=limit)

    def list_source_connections(
        self, sandbox: str, *, properties: list[str] | None = None, limit: int | None = None
    ) -> list[dict]:
        """Every source connection of ``sandbox`` matching all ``properties`` filters; paging followed."""
        return self._list_items(sandbox, "/sourceConnections", properties, limit=limit)

    # --- sandboxes -----------------------------------------------------------------------------
    def list_sandboxes(self, *, active_only: bool = True) -> list[dict]:
        """Every sandbox of the organisation (only those in state ``active`` by default)."""
        sandboxes: list[dict] = []
        offset = 0
        for _ in range(MAX_PAGES):
            payload, exchange = self._get(
                self.sandbox_api_url + "/sandboxes",
                sandbox=None,
                params=[("limit", str(SANDBOX_PAGE_SIZE)), ("offset", str(offset))],
            )
            page = payload.get("sandboxes") if isinstance(payload, dict) else None
            if page is None:
                page = []
            if not isinstance(page, list):
                raise _malformed(exchange, "'sandboxes' is not a list")
            sandboxes += [item for item in page if isinstance(item, dict)]
            offset += len(page)
            page_info = payload.get("_page") if isinstance(payload.get("_page"), dict) else {}
            limit = page_info.get("limit") if isinstance(page_info.get("limit"), int) else SANDBOX_PAGE_SIZE
            links_say_last = isinstance(payload.get("_links"), dict) and not _next_href(payload)
            if not page or len(page) < limit or links_say_last:
                break
        else:
            raise _loop(exchange)
        if active_only:
            sandboxes = [item for item in sandboxes if str(item.get("state", "")).lower() == "active"]
        return sandboxes

    # --- plumbing ------------------------------------------------------------------------------
    def _headers(self, sandbox: str | None, *, json_body: bool = False) -> dict[str, str]:
        return request_headers(
            token=self._auth.token(), api_key=self.client_id, org_id=self.org_id, sandbox=sandbox, json_body=json_body
        )

    def _renew(self, sent_headers: dict[str, str]) -> None:
        self._auth.invalidate(sent_headers.get("Authorization", "").removeprefix("Bearer "))

    def _get(self, url: str, *, sandbox: str | None, params: list[tuple[str, str]] | None = None):
        return self._transport.call(
            "GET",
            url,
            headers=lambda: self._headers(sandbox),
            params=params,
            idempotent=True,
            on_unauthorized=self._renew,
        )

    def _flow_url(self, path: str) -> str:
        return self.flow_service_url + path

    def _list_items(
        self, sandbox: str, path: str, properties: list[str] | None, *, limit: int | None = None
    ) -> list[dict]:
        params = [("property", prop.strip()) for prop in properties or [] if prop and prop.strip()]
        if limit is not None:
            params.append(("limit", str(limit)))
        url = self._flow_url(path)
        seen: set[str] = set()
        items: list[dict] = []
        for _ in range(MAX_PAGES):
            seen.add(url)
            payload, exchange = self._get(url, sandbox=sandbox, params=params or None)
            seen.add(exchange.url)
            if not isinstance(payload, dict):
                raise _malformed(exchange, "a list answer must be a JSON object")
            page = payload.get("items", [])
            if not isinstance(page, list):
                raise _malformed(exchange, "'items' is not a list")
            items += [item for item in page if isinstance(item, dict)]
            href = _next_href(payload)
            if not href:
                return items
            url, params = self._resolve(href, current=exchange.url, exchange=exchange), []
            if url in seen:
                raise _loop(exchange)
        raise _loop(exchange)

    def _resolve(self, href: str, *, current: str, exchange: Exchange) -> str:
        """A ``_links.next.href``: absolute, or relative to the Flow Service base (with or without its path).

        An absolute link is followed only to the configured platform's scheme, host and port (HTTPS
        with Adobe; the emulator's own address in development): the token, API key and organization
        go with every request, so a listing that points elsewhere raises `FlowServiceError`.
        """
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            if _origin(href, default_scheme=self._origin[0]) != self._origin:
                raise _foreign_link(exchange, href, self.platform_url)
            return href if parts.scheme else f"{self._origin[0]}:{href}"
        if href.startswith("?"):
            return current.split("?", 1)[0] + href
        base = urlsplit(self.flow_service_url)
        for prefix in (base.path, FLOW_SERVICE_PATH):
            if prefix and (href.startswith(prefix + "/") or href.startswith(prefix + "?")):
                href = href[len(prefix) :]
                break
        return self.flow_service_url + "/" + href.lstrip("/")

    def _get_one(self, sandbox: str, path: str, spec_id: str, what: str) -> dict:
        payload, exchange = self._get(self._flow_url(f"{path}/{_segment(spec_id)}"), sandbox=sandbox)
        if isinstance(payload, dict) and isinstance(payload.get("items"), list) and not payload["items"]:
            raise FlowServiceError(
                status=404,
                code=CODE_NOT_FOUND,
                title=TITLE_NOT_FOUND,
                detail=f"No {what} {spec_id} in sandbox {sandbox}",
                request_id=exchange.request_id,
                exchange=exchange,
                retryable=False,
            )
        item = _unwrap(payload)
        if item is None:
            raise _malformed(exchange, f"the answer carries no {what}")
        return item


def _segment(spec_id: str) -> str:
    """A spec id as a path segment (ids are UUIDs; anything else is quoted, never a path change)."""
    return quote(spec_id.strip(), safe="")


def _unwrap(payload: Any) -> dict | None:
    """The one document of ``{"items": [doc]}`` or a bare ``doc``; None when there is none."""
    if not isinstance(payload, dict):
        return None
    items = payload.get("items")
    if isinstance(items, list):
        return items[0] if items and isinstance(items[0], dict) else None
    return payload or None


def _next_href(payload: Any) -> str:
    links = payload.get("_links") if isinstance(payload, dict) else None
    nxt = links.get("next") if isinstance(links, dict) else None
    if isinstance(nxt, dict):
        nxt = nxt.get("href")
    return nxt.strip() if isinstance(nxt, str) else ""


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str, *, default_scheme: str = "") -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; host lower-cased, no user info."""
    parts = urlsplit(url)
    scheme = (parts.scheme or default_scheme).lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # not a port: matches nothing
    return scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def _foreign_link(exchange: Exchange, href: str, platform_url: str) -> FlowServiceError:
    scheme, host, port = _origin(href, default_scheme=urlsplit(platform_url).scheme)
    where = f"{scheme}://{host}" + (f":{port}" if port not in (None, DEFAULT_PORTS.get(scheme)) else "")
    own_scheme, own_host, own_port = _origin(platform_url)
    own = f"{own_scheme}://{own_host}" + (f":{own_port}" if own_port != DEFAULT_PORTS.get(own_scheme) else "")
    return FlowServiceError(
        status=exchange.status,
        code=CODE_FOREIGN_LINK,
        title=TITLE_FOREIGN_LINK,
        detail=(
            f"The listing at {exchange.url} points its next page to {where}, not to the Flow Service at "
            f"{own}: not followed (the credentials go only to the configured host)"
        ),
        request_id=exchange.request_id,
        exchange=exchange,
        retryable=False,
    )


def _malformed(exchange: Exchange, why: str) -> FlowServiceError:
    return FlowServiceError(
        status=exchange.status,
        code=CODE_MALFORMED,
        title=TITLE_MALFORMED,
        detail=f"Unexpected answer from {exchange.url}: {why}",
        request_id=exchange.request_id,
        exchange=exchange,
        retryable=True,
    )


def _loop(exchange: Exchange) -> FlowServiceError:
    return FlowServiceError(
        status=exchange.status,
        code=CODE_PAGINATION_LOOP,
        title=TITLE_PAGINATION_LOOP,
        detail=f"{exchange.url} links back to a page already read",
        request_id=exchange.request_id,
        exchange=exchange,
        retryable=False,
    )
