"""A document checked against `specs/flowspec.schema.json`, with messages that name the place."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

SCHEMA_PATH = Path(__file__).resolve().parent.parent.parent / "specs" / "flowspec.schema.json"


# --- validation --------------------------------------------------------------------------------
@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_UUID_ANY_CASE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def validate_document(document: Any) -> list[str]:
    """What is wrong with ``document`` as a PUT body, per ``specs/flowspec.schema.json``; [] when valid.

    Each message starts with the JSON path of the offending value, e.g.
    ``sourceConnectionSpecIds[3]: 'abc' is not a valid UUID``.
    """
    errors = sorted(_validator().iter_errors(document), key=_error_order)
    messages: list[str] = []
    for error in errors:
        for message in _messages(error):
            if message not in messages:
                messages.append(message)
    return messages


def _error_order(error: ValidationError) -> list[tuple[int, Any]]:
    return [(0, part) if isinstance(part, int) else (1, str(part)) for part in error.absolute_path]


def json_path(parts: Iterable[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``a[0].b``; the empty path is ``document``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_@$][\w@$-]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "document"


def _messages(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    where = json_path(path)
    instance = error.instance
    if error.validator == "required":
        missing = [name for name in error.validator_value if isinstance(instance, dict) and name not in instance]
        return [f"{json_path([*path, name])}: is required" for name in missing]
    if error.validator == "pattern" and error.schema.get("format") == "uuid":
        if isinstance(instance, str) and _UUID_ANY_CASE.match(instance):
            return [f"{where}: {instance!r} must be written in lower case"]
        return [f"{where}: {instance!r} is not a valid UUID"]
    if error.validator == "uniqueItems" and isinstance(instance, list):
        seen: list = []
        repeated: list = []
        for item in instance:
            if item in seen and item not in repeated:
                repeated.append(item)
            seen.append(item)
        if repeated:
            return [f"{where}: {item!r} appears more than once" for item in repeated]
    if error.validator == "pattern" and error.validator_value == r"\S":
        return [] if instance == "" else [f"{where}: must not be blank"]
    if error.validator == "minLength" and instance == "":
        return [f"{where}: must not be empty"]
    return [f"{where}: {error.message}"]
