"""What one sandbox's sync did, as its callers (pages, commands, sync runs) read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyncResult:
    """What one sandbox's sync did. ``busy``: another worker was syncing it, nothing was done."""

    sandbox: str
    ok: bool
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    vanished: int = 0
    reappeared: int = 0
    connection_specs: int = 0
    changed_remotely: int = 0
    connection_specs_changed: int = 0
    error: str = ""
    busy: bool = False

    @property
    def has_changes(self) -> bool:
        """The sync changed the cache: a flow spec new, changed, vanished or back, or a connection spec
        added, changed or removed. Only such a sync is audited (a failure always is)."""
        return bool(self.new or self.changed or self.vanished or self.reappeared or self.connection_specs_changed)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "vanished": self.vanished,
            "reappeared": self.reappeared,
        }

    def summary(self) -> str:
        if not self.ok:
            return self.error
        text = f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.vanished} vanished"
        if self.reappeared:
            text += f", {self.reappeared} back again"
        return f"{text}; {self.connection_specs} connection specs"
