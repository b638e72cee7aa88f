"""What the emulated Flow Service accepts as a flow spec or connection spec body (pure functions).

A PUT is a full replacement, so the body must carry what a create needs. Each message says exactly
what is wrong, so a client's mistake shows up in the error it gets back.
"""

from __future__ import annotations

import json
import re
from typing import Any

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Read-only metadata: ignored in a request body, stamped by the service.
METADATA_FIELDS = (
    "createdAt",
    "updatedAt",
    "createdBy",
    "updatedBy",
    "createdClient",
    "updatedClient",
    "sandboxId",
    "sandboxName",
    "imsOrgId",
)
IGNORED_FIELDS = frozenset({*METADATA_FIELDS, "etag"})

BODY_NOT_JSON = "The request body is not valid JSON: {error}."
BODY_NOT_OBJECT = "The request body must be a JSON object, not {kind}."
FIELD_REQUIRED = "Field '{field}' is required."
FIELD_NOT_STRING = "Field '{field}' must be a non-empty string."
FIELD_NOT_ARRAY = "Field '{field}' must be an array of {what} ids, not {kind}."
ITEM_NOT_UUID = "{field}[{index}] is not a {what} id (a UUID): {value}."
ITEM_REPEATED = "{field}[{index}] repeats the id {value}."
ID_MISMATCH = "Field 'id' ({value}) does not match the flow spec id in the path ({path_id})."
FIELD_NOT_KIND = "Field '{field}' must be {expected}, not {kind}."

PUT_REQUIRED = ("name", "providerId", "version", "sourceConnectionSpecIds", "targetConnectionSpecIds")
CREATE_REQUIRED = ("name", "providerId")

# createConnectionSpec (CreateConnectionSpecRequest): what each field must be when it is sent.
CONNECTION_SPEC_REQUIRED = ("name", "providerId")
CONNECTION_SPEC_STRINGS = ("name", "providerId", "version", "type")
CONNECTION_SPEC_OBJECTS = (
    "attributes",
    "settings",
    "sourceSpec",
    "targetSpec",
    "exploreSpec",
    "permissionsInfo",
    "policy",
)
CONNECTION_SPEC_ARRAYS = ("authSpec", "encryptionSpecs", "entitlementInfo")
CONNECTION_SPEC_ATTRIBUTES = {  # attributes.<name>: (type, what the message calls it)
    "category": (str, "a string"),
    "frequency": (str, "a string"),
    "isSource": (bool, "a boolean"),
    "isDestination": (bool, "a boolean"),
}


class BodyError(ValueError):
    """The body cannot be accepted; `messages` lists every reason."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(UUID_PATTERN.match(value))


def _not_a_number(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def parse_body(raw: bytes) -> Any:
    """The JSON body; NaN and Infinity, which JSON does not have, are refused as a strict parser does."""
    try:
        return json.loads(raw, parse_constant=_not_a_number)
    except (UnicodeDecodeError, ValueError) as error:
        raise BodyError([BODY_NOT_JSON.format(error=error)]) from None


def kind_of(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def flowspec_body_errors(
    body: Any, *, required: tuple[str, ...] = PUT_REQUIRED, path_id: str | None = None
) -> list[str]:
    """Every reason `body` is not an acceptable flow spec; [] when it is."""
    if not isinstance(body, dict):
        return [BODY_NOT_OBJECT.format(kind=kind_of(body))]
    errors = [FIELD_REQUIRED.format(field=field) for field in required if field not in body]
    for field in ("name", "providerId", "version"):
        if field in body and not (isinstance(body[field], str) and body[field].strip()):
            errors.append(FIELD_NOT_STRING.format(field=field))
    for field in ("sourceConnectionSpecIds", "targetConnectionSpecIds"):
        if field in body:
            errors.extend(id_array_errors(field, body[field]))
    if path_id is not None and "id" in body and str(body["id"]).lower() != path_id.lower():
        errors.append(ID_MISMATCH.format(value=json.dumps(body["id"]), path_id=path_id))
    return errors


def kind_errors(body: dict, field: str, expected_type: type, expected: str, *, prefix: str = "") -> list[str]:
    """A message when `field` is present in `body` but is not of `expected_type` (a boolean is no integer)."""
    if field not in body:
        return []
    value = body[field]
    if isinstance(value, expected_type) and not (expected_type is int and isinstance(value, bool)):
        return []
    return [FIELD_NOT_KIND.format(field=prefix + field, expected=expected, kind=kind_of(value))]


def strings_errors(body: dict, fields: tuple[str, ...], *, prefix: str = "") -> list[str]:
    return [
        FIELD_NOT_STRING.format(field=prefix + field)
        for field in fields
        if field in body and not (isinstance(body[field], str) and body[field].strip())
    ]


def connection_spec_body_errors(body: Any) -> list[str]:
    """Every reason `body` is not an acceptable connection spec to create; [] when it is."""
    if not isinstance(body, dict):
        return [BODY_NOT_OBJECT.format(kind=kind_of(body))]
    errors = [FIELD_REQUIRED.format(field=field) for field in CONNECTION_SPEC_REQUIRED if field not in body]
    errors += strings_errors(body, CONNECTION_SPEC_STRINGS)
    for field in CONNECTION_SPEC_OBJECTS:
        errors += kind_errors(body, field, dict, "an object")
    for field in CONNECTION_SPEC_ARRAYS:
        errors += kind_errors(body, field, list, "an array")
    attributes = body.get("attributes")
    if isinstance(attributes, dict):
        for name, (expected_type, expected) in CONNECTION_SPEC_ATTRIBUTES.items():
            errors += kind_errors(attributes, name, expected_type, expected, prefix="attributes.")
    return errors


def id_array_errors(field: str, value: Any, *, what: str = "connection spec") -> list[str]:
    """Every reason `value` is not an array of distinct UUIDs (ids of `what`)."""
    if not isinstance(value, list):
        return [FIELD_NOT_ARRAY.format(field=field, what=what, kind=kind_of(value))]
    errors, seen = [], set()
    for index, item in enumerate(value):
        if not is_uuid(item):
            errors.append(ITEM_NOT_UUID.format(field=field, what=what, index=index, value=json.dumps(item)))
        elif item.lower() in seen:
            errors.append(ITEM_REPEATED.format(field=field, index=index, value=item))
        else:
            seen.add(item.lower())
    return errors


def without_metadata(body: dict) -> dict:
    """The body minus read-only metadata, order kept."""
    return {key: value for key, value in body.items() if key not in IGNORED_FIELDS}
