"""A real OpenID Provider for the single sign-on tests: ``scripts/oidc-provider/server.mjs`` (npm's
``oidc-provider``, installed by ``make browser``) in a Node process on a free loopback port.

    with OpenIDProvider(app_urls=[server_url], accounts=[{"username": "olivia", "password": ..., "sub": ...,
                                                          "groups": ["aep-onboarding"]}]) as op:
        op.issuer                            # http://127.0.0.1:<port>
        op.app_environment()                 # the OIDC_* variables flowadmin needs to use it
        op.put_account("olivia", groups=[])  # takes effect at her next sign-in
        op.next_id_token("expired")          # the next token response carries a spoiled ID token

The client secret is made afresh for each provider, so tests can look for it where it must not be.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from .server import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "oidc-provider" / "server.mjs"
CLIENT_ID = "flowadmin-tests"
STARTUP_DEADLINE_SECONDS = 60  # a ceiling for a loaded machine, not a performance expectation
TIMEOUT = (3.05, 30)
SPOILED_ID_TOKENS = ("expired", "tampered", "wrong-key")


class IdentityProviderError(RuntimeError):
    """The provider did not start or refused a test control; the message has its log."""


class OpenIDProvider:
    def __init__(self, *, app_urls: list[str], accounts: list[dict], name: str = "Test OP"):
        self.app_urls = [url.rstrip("/") for url in app_urls]
        self.accounts = accounts
        self.name = name
        self.client_secret = secrets.token_urlsafe(24)
        self._admin_token = secrets.token_urlsafe(24)
        self.issuer = ""
        self.workdir: Path | None = None
        self._process: subprocess.Popen | None = None
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"OpenIDProvider({self.issuer or 'not started'})"

    def __enter__(self) -> OpenIDProvider:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- what tests use -------------------------------------------------------------------------
    def app_environment(self, **extra: str) -> dict[str, str]:
        """flowadmin's OIDC_* variables for this provider (``extra`` adds or overrides)."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_PROVIDER_NAME": self.name,
            "OIDC_SCOPES": "openid profile email groups",
            **extra,
        }

    def put_account(self, username: str, **fields) -> dict:
        """Change (or add) an account: ``groups=[...]``, ``sub=...``, ``password=...``."""
        return self._control("PUT", f"/_test/accounts/{username}", fields)

    def next_id_token(self, mode: str, **claims) -> None:
        """The next token response's ID token: ``expired`` (correctly signed), ``tampered`` (claims
        changed after signing) or ``wrong-key`` (signed by another key under the same key id)."""
        assert mode in SPOILED_ID_TOKENS, mode
        self._control("POST", "/_test/next-id-token", {"mode": mode, "claims": claims})

    def log_tail(self, lines: int = 40) -> str:
        log = self.workdir / "provider.log" if self.workdir else None
        if log is None or not log.exists():
            return "(no provider log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        node = shutil.which("node")
        if node is None or not (REPO_ROOT / "node_modules" / "oidc-provider").is_dir():
            raise IdentityProviderError("node or the oidc-provider package is missing: run `make browser`")
        self.workdir = Path(tempfile.mkdtemp(prefix="flowadmin-op-"))
        config = self.workdir / "provider.json"
        config.write_text(json.dumps(self._config()))
        with (self.workdir / "provider.log").open("w") as log:
            self._process = subprocess.Popen(
                [node, str(SCRIPT), str(config)],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
        self.issuer = json.loads(self._first_line())["issuer"]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()
        self._session.close()
        if self.workdir is not None and os.environ.get("FLOWADMIN_E2E_KEEP", "") in ("", "0"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- internals --------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {
            "host": "127.0.0.1",
            "port": 0,
            "adminToken": self._admin_token,
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": self.client_secret,
                    "redirect_uris": [f"{url}/accounts/sso/callback/" for url in self.app_urls],
                    "post_logout_redirect_uris": [f"{url}/accounts/login/" for url in self.app_urls],
                }
            ],
            "accounts": self.accounts,
        }

    def _first_line(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
        try:
            while time.monotonic() < deadline:
                if selector.select(timeout=0.2):
                    line = self._process.stdout.readline()
                    if line:
                        return line
                if self._process.poll() is not None:
                    break
        finally:
            selector.close()
        raise IdentityProviderError(f"the OpenID Provider did not start:\n{self.log_tail()}")

    def _control(self, method: str, path: str, body: dict) -> dict:
        response = self._session.request(
            method,
            self.issuer + path,
            json=body,
            headers={"Authorization": f"Bearer {self._admin_token}"},
            timeout=TIMEOUT,
        )
        if response.status_code != 200:
            raise IdentityProviderError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()
