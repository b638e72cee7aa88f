"""The dashboard over plain HTTP, signed in as a demo user: the setup steps a journey is not about.

    staff = Dashboard(server.url, "staff")
    pk = staff.propose("stage", CRM_TO_AEP, add=[ACME_LOYALTY], reason="Onboard Acme Loyalty")
    Dashboard(server.url, "approver").approve(pk)

It posts the same forms a person would (CSRF token read from the page), so what it creates is what
the pages create. Journeys themselves go through the browser.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

from .helpers import DEMO_PASSWORD, LOGIN_PATH

TIMEOUT = (3.05, 60)
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CHANGE_REQUEST_URL = re.compile(r"/changes/(\d+)/$")
_DIGEST_INPUT = re.compile(r'name="digest" value="([^"]+)"')
_TEXTAREA = re.compile(r'<textarea name="source_connection_spec_ids"[^>]*>\n?(.*?)</textarea>', re.S)

# The seed (specs/): flow spec ids, and connection specs that no flow spec uses.
GENERIC_STREAMING_AEP = "e77fde5a-22a8-11ed-861d-0242ac120002"
CRM_TO_AEP = "14518937-270c-4525-bdec-c2ba7cce3860"
REST_STORAGE_TO_AEP = "6499120c-0b15-42dc-936e-847ea3c24d72"
ACME_EVENTS_STREAM = ("Acme Events Stream", "bdb5b792-451b-42de-acf8-15f3195821de")
ACME_LOYALTY = ("Acme Loyalty (REST)", "87d513a3-b4d2-4df7-8ec9-55957c02e0b1")


class DashboardError(AssertionError):
    """A setup step did not do what it should; the message says which and what the server answered."""


class Dashboard:
    def __init__(self, server_url: str, username: str, password: str = DEMO_PASSWORD):
        self.base_url = server_url.rstrip("/")
        self.username = username
        self.session = requests.Session()
        self.post_form(LOGIN_PATH, {"username": username, "password": password})
        if "sessionid" not in self.session.cookies:
            raise DashboardError(f"{username} could not log in")

    def get(self, path: str) -> requests.Response:
        response = self.session.get(self.base_url + path, timeout=TIMEOUT)
        if response.status_code != 200:
            raise DashboardError(f"GET {path} as {self.username}: HTTP {response.status_code}")
        return response

    def post_form(self, path: str, data: dict, *, form_page: str | None = None) -> requests.Response:
        """POST ``data`` with the CSRF token of the page the form is on (``form_page``, default ``path``)."""
        page = self.get(form_page or path).text
        token = _CSRF_INPUT.search(page)
        if token is None:
            raise DashboardError(f"no CSRF token on {form_page or path}")
        response = self.session.post(
            self.base_url + path, data={"csrfmiddlewaretoken": token.group(1), **data}, timeout=TIMEOUT
        )
        if response.status_code >= 400:
            raise DashboardError(f"POST {path} as {self.username}: HTTP {response.status_code}")
        return response

    def propose(self, sandbox: str, spec_id: str, *, add: list[str], reason: str) -> int:
        """Propose adding ``add`` to a flow spec's source connection spec ids; the change request's number."""
        edit = f"/sandboxes/{sandbox}/flowspecs/{spec_id}/edit/"
        current = _TEXTAREA.search(self.get(edit).text)
        if current is None:
            raise DashboardError(f"no id list on {edit}")
        ids = current.group(1).strip() + "\n" + "\n".join(add)
        response = self.post_form(edit, {"source_connection_spec_ids": ids, "reason": reason, "submit": "1"})
        created = _CHANGE_REQUEST_URL.search(urlsplit(response.url).path)
        if created is None:
            raise DashboardError(f"proposing on {edit} did not lead to a change request (ended on {response.url})")
        return int(created.group(1))

    def approve(self, pk: int) -> None:
        page = f"/changes/{pk}/"
        digest = _DIGEST_INPUT.search(self.get(page).text)
        if digest is None:
            raise DashboardError(f"no Approve form on {page} for {self.username}")
        response = self.post_form(f"/changes/{pk}/approve/", {"digest": digest.group(1)}, form_page=page)
        if f"Change request #{pk} was approved and applied" not in response.text:
            raise DashboardError(f"change request #{pk} was not applied")

    def audit_events(self, **filters: str) -> list[dict]:
        """Events from the audit JSON API (newest first); needs an auditor."""
        response = self.session.get(self.base_url + "/api/audit/", params=filters, timeout=TIMEOUT)
        if response.status_code != 200:
            raise DashboardError(f"GET /api/audit/ as {self.username}: HTTP {response.status_code}")
        return response.json()["results"]

    def close(self) -> None:
        self.session.close()
