"""Provider names: `specs/providers.json` maps a ``providerId`` to the name people know it by.

    provider_name("521eee4d-8cbe-4906-bb48-fb6bd4450033")   -> "Adobe streaming sources"
    provider_name("unknown-id")                              -> "" (callers show the id instead)

The table is read once per process; templates use ``{% provider spec.provider_id %}`` (built in).
"""

import functools
import json
from pathlib import Path

from django.conf import settings

from flowadmin.documents.ids import id_key

PROVIDERS_FILE = Path(settings.BASE_DIR) / "specs" / "providers.json"


@functools.cache
def provider_names() -> dict[str, str]:
    """Every known provider id (lower case) and its name."""
    try:
        data = json.loads(PROVIDERS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {id_key(str(key)): str(name) for key, name in data.get("providers", {}).items()}


def provider_name(provider_id) -> str:
    """The provider's name, or "" when the table does not know the id."""
    return provider_names().get(id_key(provider_id), "")
