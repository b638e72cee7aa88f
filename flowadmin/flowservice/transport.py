"""HTTP under the Flow Service client: one attempt at a time, timed, logged and recorded, and the
retry loop around attempts.

The loop is written out here rather than delegated to urllib3's ``Retry`` so that every attempt is an
`Exchange` the audit log can show, and so the rules stay readable:

* reads (and the IMS token request, which changes nothing) are retried on connection errors, read
  timeouts, 429, 502, 503, 504 and malformed 2xx bodies, with capped exponential back-off with
  jitter, honouring ``Retry-After``. A malformed (unparseable) 2xx answer to a read counts as
  passing trouble because reading again is harmless and a cut or garbled body rarely repeats; when
  the retries run out it is a `FlowServiceError` with code ``malformed-answer``, ``retryable`` True;
* a write is retried only when it certainly never left this process (connect timeout, connection
  refused); once it may have reached the server, a lost or unreadable answer raises
  `OutcomeUnknownError`;
* a 401 renews the IMS token and repeats the call once (reads and writes alike: the gateway
  refused the call, nothing was applied).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from flowadmin.flowservice.errors import (
    CODE_CONNECTION,
    CODE_MALFORMED,
    CODE_REDIRECT,
    CODE_REQUEST,
    CODE_TIMEOUT,
    TITLE_CONNECTION,
    TITLE_MALFORMED,
    TITLE_REDIRECT,
    TITLE_REQUEST,
    TITLE_TIMEOUT,
    FlowServiceError,
    OutcomeUnknownError,
    error_fields,
    text_excerpt,
)
from flowadmin.flowservice.exchanges import Exchange, record
from flowadmin.flowservice.retries import RETRY_STATUSES, RetryNotice, RetryPolicy, retry_told

logger = logging.getLogger("flowadmin.flowservice")

REDACTED = "[redacted]"


_MALFORMED = object()


@dataclass
class _Attempt:
    response: requests.Response | None
    error: requests.RequestException | None
    payload: Any
    exchange: Exchange


_NEVER_SENT = (
    requests.ConnectTimeout,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


def _sent_nothing(error: BaseException) -> bool:
    """True when the request certainly never reached the server (so even a write may be repeated)."""
    if isinstance(error, _NEVER_SENT):
        return True
    if isinstance(error, requests.ConnectionError) and not isinstance(error, requests.ReadTimeout):
        reason = error.args[0] if error.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, NewConnectionError)
    return False


def _describe(error: BaseException, host: str) -> tuple[str, str, str]:
    """(code, title, detail) of a request that got no answer."""
    if isinstance(error, requests.ConnectTimeout):
        return CODE_TIMEOUT, TITLE_TIMEOUT, f"Could not connect to {host} in time"
    if isinstance(error, requests.ReadTimeout):
        return CODE_TIMEOUT, TITLE_TIMEOUT, f"No answer from {host} in time"
    if isinstance(error, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return CODE_CONNECTION, TITLE_CONNECTION, f"The answer from {host} was cut off"
    if isinstance(error, requests.ConnectionError) and _sent_nothing(error):
        text = str(error)
        why = "connection refused" if "refused" in text.lower() else "could not connect"
        if "resolve" in text.lower() or "name or service" in text.lower():
            why = "unknown host"
        return CODE_CONNECTION, TITLE_CONNECTION, f"Could not connect to {host} ({why})"
    if isinstance(error, requests.ConnectionError):
        return CODE_CONNECTION, TITLE_CONNECTION, f"The connection to {host} was closed before an answer came"
    return CODE_REQUEST, TITLE_REQUEST, f"{type(error).__name__} talking to {host}"


_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class Transport:
    """Sends requests through one pooled session with explicit timeouts; see the module docstring."""

    def __init__(
        self,
        *,
        session: requests.Session,
        timeout: tuple[float, float],
        policy: RetryPolicy,
        secrets: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.policy = policy
        self._secrets = secrets

    def __repr__(self) -> str:
        return f"Transport(timeout={self.timeout!r}, policy={self.policy!r})"

    def redact(self, text: str) -> str:
        for secret in self._secrets():
            if secret and len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text

    # --- one attempt ---------------------------------------------------------------------------
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        params: list[tuple[str, str]] | None = None,
        data: bytes | dict | None = None,
        attempt: int = 1,
    ) -> _Attempt:
        own_request_id = str(uuid.uuid4())
        headers = {**headers, "x-request-id": own_request_id}
        started = time.monotonic()
        response = error = None
        payload: Any = None
        full_url = url
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                timeout=self.timeout,
                allow_redirects=False,
            )
            if response.request is not None and response.request.url:
                full_url = response.request.url
            payload = self._parse(response)
        except requests.RequestException as exc:
            error = exc
            if exc.request is not None and exc.request.url:
                full_url = exc.request.url
            elif params:
                full_url = requests.Request(method, url, params=params).prepare().url or url
        duration_ms = round((time.monotonic() - started) * 1000)
        request_id = own_request_id
        if response is not None:
            server_id = response.headers.get("x-request-id", "").strip() or self._body_request_id(payload)
            request_id = server_id or request_id
        exchange = Exchange(
            method=method,
            url=self.redact(full_url),
            status=response.status_code if response is not None else None,
            request_id=self.redact(request_id),
            duration_ms=duration_ms,
            attempt=attempt,
        )
        record(exchange)
        failed = response is None or response.status_code >= 400
        logger.log(
            logging.WARNING if failed else logging.INFO,
            "%s %s -> %s in %d ms (request id %s, attempt %d)",
            exchange.method,
            exchange.url,
            exchange.status if exchange.status is not None else "no answer",
            exchange.duration_ms,
            exchange.request_id,
            exchange.attempt,
        )
        return _Attempt(response=response, error=error, payload=payload, exchange=exchange)

    @staticmethod
    def _parse(response: requests.Response) -> Any:
        if not response.content:
            return _MALFORMED
        try:
            return json.loads(response.content)
        except ValueError:
            return _MALFORMED

    @staticmethod
    def _body_request_id(payload: Any) -> str:
        if isinstance(payload, dict):
            report = payload.get("report")
            if isinstance(report, dict) and isinstance(report.get("request-id"), str):
                return report["request-id"].strip()
        return ""

    # --- the loop ------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        url: str,
        *,
        headers: Callable[[], dict[str, str]],
        params: list[tuple[str, str]] | None = None,
        data: bytes | dict | None = None,
        idempotent: bool,
        on_unauthorized: Callable[[dict[str, str]], None] | None = None,
    ) -> tuple[Any, Exchange]:
        """Make the call; return ``(parsed JSON body, last exchange)`` of its 2xx answer or raise."""
        host = urlsplit(url).netloc
        attempt = retries = 0
        renewed = False
        while True:
            attempt += 1
            sent_headers = headers()
            result = self.send(method, url, headers=sent_headers, params=params, data=data, attempt=attempt)
            exchange, response = result.exchange, result.response

            if response is None:
                error = result.error
                code, title, detail = _describe(error, host)
                safe_to_repeat = idempotent or _sent_nothing(error)
                if not safe_to_repeat:
                    raise OutcomeUnknownError(
                        detail=self._unknown_detail(method, url, detail.lower()),
                        request_id=exchange.request_id,
                        exchange=exchange,
                    ) from None
                if retries < self.policy.max_retries and isinstance(error, _RETRYABLE_EXCEPTIONS):
                    retries += 1
                    reason = "a timeout" if code == CODE_TIMEOUT else "a failed connection"
                    self._wait(method, exchange, retries, None, reason=reason)
                    continue
                retryable = isinstance(error, _RETRYABLE_EXCEPTIONS)
                raise FlowServiceError(
                    status=None,
                    code=code,
                    title=title,
                    detail=self.redact(detail),
                    request_id=exchange.request_id,
                    exchange=exchange,
                    retryable=retryable,
                ) from None

            status = response.status_code
            if status == 401 and on_unauthorized is not None and not renewed:
                renewed = True
                on_unauthorized(sent_headers)
                continue

            if 200 <= status < 300:
                if result.payload is not _MALFORMED:
                    return result.payload, exchange
                if not idempotent:
                    raise OutcomeUnknownError(
                        status=status,
                        detail=self._unknown_detail(method, url, "the answer was not valid JSON"),
                        request_id=exchange.request_id,
                        exchange=exchange,
                    )
                if retries < self.policy.max_retries:
                    retries += 1
                    self._wait(method, exchange, retries, None, reason="an answer that was not JSON")
                    continue
                raise FlowServiceError(
                    status=status,
                    code=CODE_MALFORMED,
                    title=TITLE_MALFORMED,
                    detail=self.redact(self._malformed_detail(host, response)),
                    request_id=exchange.request_id,
                    exchange=exchange,
                    retryable=True,
                )

            if idempotent and status in RETRY_STATUSES and retries < self.policy.max_retries:
                retries += 1
                self._wait(method, exchange, retries, response.headers.get("Retry-After"), reason=f"HTTP {status}")
                continue

            raise self.error_from(response, result.payload, exchange)

    def error_from(self, response: requests.Response, payload: Any, exchange: Exchange) -> FlowServiceError:
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            return FlowServiceError(
                status=status,
                code=CODE_REDIRECT,
                title=TITLE_REDIRECT,
                detail=self.redact(f"{exchange.url} redirects to {location or 'nowhere'}"),
                request_id=exchange.request_id,
                exchange=exchange,
                retryable=False,
            )
        fields = error_fields(
            status,
            response.reason,
            None if payload is _MALFORMED else payload,
            response.text if payload is _MALFORMED else "",
        )
        return FlowServiceError(
            status=status,
            code=self.redact(fields["code"]),
            title=self.redact(fields["title"]),
            detail=self.redact(fields["detail"]),
            request_id=exchange.request_id,
            exchange=exchange,
        )

    def _wait(self, method: str, exchange: Exchange, retry: int, retry_after: str | None, *, reason: str) -> None:
        seconds = self.policy.delay(retry, retry_after)
        logger.info("%s %s: retry %d in %.2f s (%s)", method, exchange.url, retry, seconds, reason)
        attempts = self.policy.max_retries + 1
        retry_told(RetryNotice(method, exchange.url, reason, retry + 1, attempts, seconds))
        self.policy.sleep(seconds)

    @staticmethod
    def _unknown_detail(method: str, url: str, what: str) -> str:
        return (
            f"The {method} to {url} may have been applied ({what}); "
            "read the document back to find out before trying again"
        )

    @staticmethod
    def _malformed_detail(host: str, response: requests.Response) -> str:
        excerpt = text_excerpt(response.text, 80)
        if not excerpt:
            return f"The answer from {host} was empty where JSON was expected"
        return f"The answer from {host} is not valid JSON: {excerpt}"
