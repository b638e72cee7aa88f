"""The requests Adobe documents for adding a source to GenericStreamingAEP work against the emulator as written."""

import json
import shutil
import subprocess

import pytest
import requests

from tests.fixtures.emulator import FLOW_SPECS, GENERIC_STREAMING_ID, NEW_STREAMING_SOURCE_ID

STAMPED = {"updatedAt", "updatedBy", "updatedClient"}


def documented_headers(emulator) -> dict:
    return {
        "Authorization": f"Bearer {emulator.token()}",
        "x-api-key": emulator.client_id,
        "x-gw-ims-org-id": emulator.org_id,
        "x-sandbox-name": "dev",
    }


def test_get_then_put_with_the_new_source_added_changes_only_that(emulator):
    url = f"{emulator.url}{FLOW_SPECS}/{GENERIC_STREAMING_ID}"
    fetched = requests.get(url, headers=documented_headers(emulator), timeout=30)
    assert fetched.status_code == 200
    document = fetched.json()["items"][0]

    body = json.loads(json.dumps(document))  # as fetched, metadata included
    body["sourceConnectionSpecIds"].append(NEW_STREAMING_SOURCE_ID)
    put = requests.put(
        url, headers={**documented_headers(emulator), "Content-Type": "application/json"}, json=body, timeout=30
    )

    assert put.status_code == 200, put.text
    answer = put.json()
    assert answer["sourceConnectionSpecIds"] == [*document["sourceConnectionSpecIds"], NEW_STREAMING_SOURCE_ID]
    unchanged = set(document) - STAMPED - {"sourceConnectionSpecIds"}
    assert {key: answer[key] for key in unchanged} == {key: document[key] for key in unchanged}
    assert set(answer) == set(document)
    assert emulator.document("dev", GENERIC_STREAMING_ID) == answer


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_documented_curl_command_works(emulator):
    headers = [arg for name, value in documented_headers(emulator).items() for arg in ("-H", f"{name}: {value}")]
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "GET",
            f"{emulator.url}{FLOW_SPECS}/{GENERIC_STREAMING_ID}",
            "-H",
            "Content-Type: application/json",
            *headers,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout)["items"][0]["name"] == "GenericStreamingAEP"
