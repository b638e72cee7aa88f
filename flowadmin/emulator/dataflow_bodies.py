"""What the emulated Flow Service accepts as a source connection or dataflow to create (pure functions).

The shapes follow Adobe's `CreateSourceConnectionRequest` and `CreateFlowRequest`. Whether the
connection spec, flow spec and source connections named exist in the sandbox is checked by the
services (`flowadmin.emulator.dataflows`), after these rules pass. Each message says what is wrong.
"""

from __future__ import annotations

from typing import Any

from flowadmin.emulator.validation import (
    BODY_NOT_OBJECT,
    FIELD_REQUIRED,
    METADATA_FIELDS,
    id_array_errors,
    is_uuid,
    kind_errors,
    kind_of,
    strings_errors,
)

FIELD_NOT_UUID = "Field '{field}' must be a {what} id (a UUID), not {value}."
FIELD_EMPTY = "Field '{field}' must name at least one {what}."
ITEM_NOT_OBJECT = "{field}[{index}] must be an object, not {kind}."
FREQUENCY = "Field 'scheduleParams.frequency' must be one of {choices}, not {value}."
INTERVAL = "Field 'scheduleParams.interval' must be a whole number of at least {low} for frequency '{frequency}'."

SCHEDULE_FREQUENCIES = ("once", "minute", "hour", "day", "week")
MINUTE_INTERVAL_MIN = 15

# Stamped by the service: ignored in a request body.
STAMPED = frozenset({*METADATA_FIELDS, "id", "state", "version", "etag", "inheritedAttributes", "lastOperation"})
SOURCE_CONNECTION_READ_ONLY = STAMPED | {"providerRefId"}
FLOW_READ_ONLY = STAMPED | {"runs", "lastRunDetails"}


def _spec_reference_errors(body: dict, field: str, what: str, *, version_required: bool) -> list[str]:
    """`{"id": <uuid>, "version": "1.0"}` under `field` (SpecInfoDTO)."""
    if field not in body:
        return [FIELD_REQUIRED.format(field=field)]
    reference = body[field]
    if not isinstance(reference, dict):
        return kind_errors(body, field, dict, "an object")
    errors = []
    if "id" not in reference:
        errors.append(FIELD_REQUIRED.format(field=f"{field}.id"))
    elif not is_uuid(reference["id"]):
        errors.append(FIELD_NOT_UUID.format(field=f"{field}.id", what=what, value=_shown(reference["id"])))
    if version_required and "version" not in reference:
        errors.append(FIELD_REQUIRED.format(field=f"{field}.version"))
    errors += strings_errors(reference, ("version",), prefix=f"{field}.")
    return errors


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else kind_of(value)


def source_connection_body_errors(body: Any) -> list[str]:
    """Every reason `body` is not a source connection Adobe would create; [] when it is."""
    if not isinstance(body, dict):
        return [BODY_NOT_OBJECT.format(kind=kind_of(body))]
    errors = [FIELD_REQUIRED.format(field=field) for field in ("name", "data") if field not in body]
    errors += strings_errors(body, ("name",))
    errors += kind_errors(body, "description", str, "a string")
    if "baseConnectionId" in body and not is_uuid(body["baseConnectionId"]):
        value = _shown(body["baseConnectionId"])
        errors.append(FIELD_NOT_UUID.format(field="baseConnectionId", what="base connection", value=value))
    errors += _spec_reference_errors(body, "connectionSpec", "connection spec", version_required=True)
    errors += kind_errors(body, "data", dict, "an object")
    if isinstance(body.get("data"), dict):
        errors += kind_errors(body["data"], "format", str, "a string", prefix="data.")
    errors += kind_errors(body, "params", dict, "an object")
    return errors


def _ids_errors(body: dict, field: str, what: str) -> list[str]:
    if field not in body:
        return [FIELD_REQUIRED.format(field=field)]
    errors = id_array_errors(field, body[field], what=what)
    if not errors and not body[field]:
        errors.append(FIELD_EMPTY.format(field=field, what=what))
    return errors


def _transformations_errors(value: Any) -> list[str]:
    if not isinstance(value, list):
        return kind_errors({"transformations": value}, "transformations", list, "an array")
    errors = []
    for index, item in enumerate(value):
        field = f"transformations[{index}]"
        if not isinstance(item, dict):
            errors.append(ITEM_NOT_OBJECT.format(field="transformations", index=index, kind=kind_of(item)))
            continue
        errors += [FIELD_REQUIRED.format(field=f"{field}.{key}") for key in ("name", "params") if key not in item]
        errors += strings_errors(item, ("name",), prefix=f"{field}.")
        errors += kind_errors(item, "params", dict, "an object", prefix=f"{field}.")
    return errors


def _schedule_errors(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return kind_errors({"scheduleParams": value}, "scheduleParams", dict, "an object")
    errors = kind_errors(value, "startTime", int, "an integer (epoch seconds)", prefix="scheduleParams.")
    errors += kind_errors(value, "backfill", bool, "a boolean", prefix="scheduleParams.")
    frequency = value.get("frequency")
    if "frequency" in value and frequency not in SCHEDULE_FREQUENCIES:
        errors.append(FREQUENCY.format(choices=", ".join(SCHEDULE_FREQUENCIES), value=_shown(frequency)))
    if "interval" in value and frequency in SCHEDULE_FREQUENCIES and frequency != "once":
        low = MINUTE_INTERVAL_MIN if frequency == "minute" else 1
        interval = value["interval"]
        number = interval if isinstance(interval, int) and not isinstance(interval, bool) else None
        if isinstance(interval, str) and interval.strip().isdigit():
            number = int(interval)
        if number is None or number < low:
            errors.append(INTERVAL.format(low=low, frequency=frequency))
    return errors


def flow_body_errors(body: Any) -> list[str]:
    """Every reason `body` is not a dataflow Adobe would create; [] when it is."""
    if not isinstance(body, dict):
        return [BODY_NOT_OBJECT.format(kind=kind_of(body))]
    errors = [] if "name" in body else [FIELD_REQUIRED.format(field="name")]
    errors += strings_errors(body, ("name",))
    errors += kind_errors(body, "description", str, "a string")
    errors += _spec_reference_errors(body, "flowSpec", "flow spec", version_required=False)
    errors += _ids_errors(body, "sourceConnectionIds", "source connection")
    errors += _ids_errors(body, "targetConnectionIds", "target connection")
    if "transformations" in body:
        errors += _transformations_errors(body["transformations"])
    if "scheduleParams" in body:
        errors += _schedule_errors(body["scheduleParams"])
    return errors
