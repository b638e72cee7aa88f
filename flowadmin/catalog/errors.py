"""What the catalog's writes say when they cannot do something: its exception and its messages."""

ALREADY_SYNCING = "This sandbox is already being synced; its current sync was left to finish."
UNKNOWN_SANDBOX = "No sandbox of that name is known to the Sandbox API or to FLOWADMIN_SANDBOXES."
INVALID_SANDBOX_NAME = "Not a valid sandbox name (lower-case letters, digits, '-' and '_')."
DISCOVERY_FAILED = "Could not list the sandboxes"
NOT_LISTED = "Not synced: no longer listed as an active sandbox."
UNEXPECTED_ERROR = "The sync failed unexpectedly; see the server log."
DOCUMENT_WITHOUT_ID = "The remote document has no usable id."


class CatalogError(Exception):
    """A catalog operation could not be done; the message is one of this module's constants."""
