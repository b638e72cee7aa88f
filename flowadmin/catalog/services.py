"""Writes of the catalog: syncing the cache of flow specs and connection specs with the remote API.

The one import path for other apps; the work is done in the modules named after it:

* `flowadmin.catalog.sync`: one sandbox (`sandbox_sync`), several at once (`sandboxes_sync`) and
  which sandboxes there are (`sandboxes_discover`). HTTP first, then one short transaction: no
  transaction is ever open across a remote call, and a failed sync leaves the previous cache
  untouched (only the error is recorded on the sandbox).
* `flowadmin.catalog.leases`: a sandbox is synced by one worker at a time; a sync claims it with a
  conditional update of its lease, and an expired lease (a crashed process) is free again.
* `flowadmin.catalog.runs`: sync runs started from the pages, the schedule and the command; a worker
  does them (`flowadmin.catalog.tasks`).
* `flowadmin.catalog.cache`: the upserts of listings and of the documents flowadmin writes
  (`flowspec_cache_store`).

A sync that changed the cache is audited (`sandbox.synced`), so is every failed one
(`sandbox.sync_failed`) and every change of a cached document that did not come from flowadmin itself
(`flowspec.changed_remotely`); a sync that found nothing changed is not.
"""

from flowadmin.catalog.cache import flowspec_cache_store, flowspec_remote_seen
from flowadmin.catalog.errors import (
    ALREADY_SYNCING,
    DISCOVERY_FAILED,
    DOCUMENT_WITHOUT_ID,
    INVALID_SANDBOX_NAME,
    NOT_LISTED,
    UNEXPECTED_ERROR,
    UNKNOWN_SANDBOX,
    CatalogError,
)
from flowadmin.catalog.leases import sandbox_claim, sandbox_release
from flowadmin.catalog.remote_fields import CACHE_FIELDS, SANDBOX_NAME, SPEC_ID
from flowadmin.catalog.results import SyncResult
from flowadmin.catalog.runs import SyncRunStart, sync_run_execute, sync_run_start
from flowadmin.catalog.sync import STATE_ACTIVE, STATE_GONE, sandbox_sync, sandboxes_discover, sandboxes_sync

__all__ = [
    "ALREADY_SYNCING",
    "CACHE_FIELDS",
    "DISCOVERY_FAILED",
    "DOCUMENT_WITHOUT_ID",
    "INVALID_SANDBOX_NAME",
    "NOT_LISTED",
    "SANDBOX_NAME",
    "SPEC_ID",
    "STATE_ACTIVE",
    "STATE_GONE",
    "UNEXPECTED_ERROR",
    "UNKNOWN_SANDBOX",
    "CatalogError",
    "SyncResult",
    "SyncRunStart",
    "flowspec_cache_store",
    "flowspec_remote_seen",
    "sandbox_claim",
    "sandbox_release",
    "sandbox_sync",
    "sandboxes_discover",
    "sandboxes_sync",
    "sync_run_execute",
    "sync_run_start",
]
