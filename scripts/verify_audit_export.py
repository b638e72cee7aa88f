#!/usr/bin/env python3
"""Verify a flowadmin audit export (JSON Lines) with the public key of its signed checkpoints.

    python3 verify_audit_export.py flowadmin-audit-20250301T120000Z.jsonl --public-key <base64>
    python3 verify_audit_export.py export.jsonl --public-key-file audit-verify.pub

Needs Python 3.11+ and the ``cryptography`` package: not flowadmin, not Django, not its database.
It recomputes every event's hash as flowadmin does, checks the links between consecutive events,
the signature of every checkpoint and the chain of checkpoints, and states what is proven: the
events of each unbroken run that reaches a checkpoint whose signed head hash matches. Events
after the last checkpoint in the export are not covered; in a filtered export, events not
followed by every event up to a checkpoint cannot be proven.

Exit status: 0 nothing wrong (what is proven is printed), 1 a problem found, 2 unreadable input or keys.
The lines it reads (see the README, "Audit trail: guarantees"): ``{"type": "export", ...}`` first;
one event object a line (no ``type``), each followed by ``{"type": "search_text", "seq", "search_text"}``;
``{"type": "checkpoint", ...}`` records after the event they end at.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# --- what flowadmin hashes and signs (flowadmin/audit/chain.py and signing.py) ----------------
GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_username",
    "action",
    "sandbox",
    "spec_id",
    "change_request_id",
    "outcome",
    "before",
    "after",
    "patch",
    "http",
    "correlation_id",
    "detail",
    "search_text",
    "prev_hash",
)
EXPORTED_AS = {"actor_username": "actor"}  # hashed field -> its name in an export
SIGNED_FIELDS = ("version", "number", "last_seq", "event_count", "head_hash", "at", "previous_digest", "key_id")
RECORD_FIELDS = ("type", *SIGNED_FIELDS, "digest", "signature")
HEX64 = re.compile(r"[0-9a-f]{64}")
SHOWN_PROBLEMS = 50


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    return value


def canonical(content: dict) -> bytes:
    return json.dumps(
        _normalise(content), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def event_hash(record: dict, search_text: str) -> str:
    """An exported event's hash, recomputed: SHA-256 of the canonical JSON of its hashed fields."""
    content = {name: record[EXPORTED_AS.get(name, name)] for name in HASHED_FIELDS if name != "search_text"}
    content["search_text"] = search_text
    content["at"] = dt.datetime.fromisoformat(record["at"]).astimezone(dt.UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(canonical(content)).hexdigest()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()[:16]


def public_key(text: str) -> Ed25519PublicKey:
    """A public key from the base64 of its 32 raw bytes (standard or URL-safe) or PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    cleaned = "".join(text.split()).rstrip("=").replace("-", "+").replace("_", "/")
    raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def checkpoint_problem(record: dict, keys: dict[str, Ed25519PublicKey]) -> str | None:
    """What is wrong with a checkpoint record, or None when its digest and signature verify."""
    missing = [name for name in RECORD_FIELDS if name not in record]
    if missing:
        return f"not a checkpoint record: {', '.join(missing)} missing"
    if record["version"] != 1:
        return f"unknown checkpoint version {record['version']!r}"
    for name in ("number", "last_seq", "event_count"):
        if not isinstance(record[name], int) or isinstance(record[name], bool) or record[name] < 1:
            return f"not a checkpoint record: {name} is not a positive whole number"
    for name in ("head_hash", "previous_digest", "digest"):
        if not isinstance(record[name], str) or not HEX64.fullmatch(record[name]):
            return f"not a checkpoint record: {name} is not 64 hex digits"
    payload = canonical({name: record[name] for name in SIGNED_FIELDS})
    if hashlib.sha256(payload).hexdigest() != record["digest"]:
        return "its digest does not match its content"
    key = keys.get(record["key_id"])
    if key is None:
        return f"it is signed with a key that is not trusted (key id {record['key_id']})"
    try:
        key.verify(base64.b64decode(record["signature"], validate=True), payload)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return f"its signature does not verify with the public key {record['key_id']}"
    return None


# --- the verifier ------------------------------------------------------------------------------
class ExportVerifier:
    """Reads an export line by line (memory does not grow with it) and keeps what it proved and found."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]):
        self.keys = keys
        self.problems: list[tuple[int | None, str]] = []
        self.problem_count = 0
        self.header: dict | None = None
        self.events = 0
        self.first_seq: int | None = None
        self.last_seq: int | None = None
        self.last_hash = ""
        self.pending: tuple[int, dict] | None = None  # an event waiting for its search_text line
        self.unproven_from: int | None = None  # the first event of the current run not covered yet
        self.segment_clean = True  # no problem since unproven_from
        self.proven: list[list[int]] = []  # [first, last] runs proven by a checkpoint, merged
        self.checkpoints = 0
        self.valid_checkpoints = 0
        self.last_checkpoint: dict | None = None  # the last one whose signature verified
        self.last_number: int | None = None

    @property
    def complete(self) -> bool:
        return bool(self.header and self.header.get("complete"))

    def problem(self, seq: int | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < 1000:
            self.problems.append((seq, message))

    def feed(self, number: int, line: str) -> None:
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except ValueError:
            self.problem(None, f"line {number}: not JSON")
            return
        if not isinstance(record, dict):
            self.problem(None, f"line {number}: not a JSON object")
            return
        kind = record.get("type")
        if kind == "search_text":
            self._search_text(number, record)
            return
        self._flush()
        if kind is None:
            self.pending = (number, record)
        elif kind == "checkpoint":
            self._checkpoint(number, record)
        elif kind == "export":
            if number != 1 or self.header is not None:
                self.problem(None, f"line {number}: an export line that is not the first line")
            self.header = record
        else:
            self.problem(None, f"line {number}: unknown record type {kind!r}")

    def finish(self) -> None:
        self._flush()
        expected = (self.header or {}).get("last_checkpoint")
        if self.complete and expected and (self.last_number or 0) < expected:
            self.problem(
                None,
                f"the export was made with checkpoints through #{expected}, but the last one in it is "
                f"#{self.last_number or 0}: its end is missing",
            )

    # --- events ------------------------------------------------------------------------------
    def _search_text(self, number: int, record: dict) -> None:
        if self.pending is None or self.pending[1].get("seq") != record.get("seq"):
            self.problem(record.get("seq"), f"line {number}: a search_text line that follows no event of its seq")
            return
        (event_line, event), self.pending = self.pending, None
        self._event(event_line, event, record.get("search_text"))

    def _flush(self) -> None:
        if self.pending is not None:
            (line, event), self.pending = self.pending, None
            self._event(line, event, None)

    def _event(self, line: int, record: dict, search_text: str | None) -> None:
        seq = record.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            self.problem(None, f"line {line}: an event without a whole-number seq")
            return
        self.events += 1
        self.first_seq = seq if self.first_seq is None else self.first_seq
        if search_text is None:
            self._dirty(seq, f"line {line}: no search_text line follows it, so its hash cannot be recomputed")
        else:
            try:
                recomputed = event_hash(record, search_text)
            except (KeyError, TypeError, ValueError) as error:
                self._dirty(seq, f"line {line}: not an event record ({error})")
                recomputed = None
            if recomputed is not None and recomputed != record.get("hash"):
                self._dirty(
                    seq,
                    f"line {line}: content changed: the recomputed hash does not match the stored one "
                    f"(expected {recomputed}, found {record.get('hash')})",
                )
        if self.last_seq is None:
            self._run_start(seq)
            if self.complete and seq != 1:
                self.problem(1, f"{_events(1, seq - 1)} missing from this complete export")
            if seq == 1 and record.get("prev_hash") != GENESIS:
                self._dirty(seq, f"line {line}: the first event's prev_hash is not {GENESIS}")
        elif seq <= self.last_seq:
            self._dirty(seq, f"line {line}: out of order: it comes after event #{self.last_seq}")
            return
        elif seq == self.last_seq + 1:
            if record.get("prev_hash") != self.last_hash:
                self._dirty(seq, f"line {line}: prev_hash does not match event #{self.last_seq}'s hash")
        else:
            if self.complete:
                self.problem(
                    self.last_seq + 1, f"{_events(self.last_seq + 1, seq - 1)} missing from this complete export"
                )
            self._run_start(seq)
        self.last_seq, self.last_hash = seq, record.get("hash")

    def _run_start(self, seq: int) -> None:
        self.unproven_from, self.segment_clean = seq, True

    def _dirty(self, seq: int, message: str) -> None:
        self.segment_clean = False
        self.problem(seq, message)

    # --- checkpoints -------------------------------------------------------------------------
    def _checkpoint(self, line: int, record: dict) -> None:
        self.checkpoints += 1
        number = record.get("number")
        start = self.unproven_from if self.unproven_from is not None else 1
        wrong = checkpoint_problem(record, self.keys)
        if wrong:
            self.problem(start, f"line {line}: checkpoint #{number}: {wrong}")
            self.last_number = number if isinstance(number, int) else self.last_number
            return
        self.valid_checkpoints += 1
        self._checkpoint_chain(line, record)
        last = record["last_seq"]
        if self.last_seq is None or last > self.last_seq:
            if self.complete:
                head = self.last_seq or 0
                self.problem(
                    head + 1,
                    f"line {line}: {_events(head + 1, last)} missing: checkpoint #{number} covers the log through "
                    f"#{last}, but the export has no event #{last} (it stops at #{head})",
                )
        elif last < self.last_seq:
            self.problem(
                last, f"line {line}: checkpoint #{number} is out of place: it comes after event #{self.last_seq}"
            )
        elif record["head_hash"] != self.last_hash:
            self.problem(
                start,
                f"line {line}: {_events(start, last, 'does not match', 'do not match')} signed checkpoint #{number} "
                f"(written {record['at']}): an event in this range was changed, removed or inserted and the "
                "hashes recomputed",
            )
            self._run_start(last + 1)
        else:
            if self.segment_clean:
                self._prove(start, last)
            self._run_start(last + 1)
        self.last_checkpoint, self.last_number = record, number

    def _checkpoint_chain(self, line: int, record: dict) -> None:
        number = record["number"]
        previous = self.last_checkpoint
        if number == 1 and record["previous_digest"] != GENESIS:
            self.problem(1, f"line {line}: checkpoint #1 does not start the chain of checkpoints")
        elif previous is not None and number == previous["number"] + 1:
            if record["previous_digest"] != previous["digest"]:
                self.problem(
                    None, f"line {line}: checkpoint #{number} does not follow checkpoint #{previous['number']}"
                )
        elif self.complete and number != (self.last_number or 0) + 1:
            self.problem(None, f"line {line}: checkpoints #{(self.last_number or 0) + 1}..#{number - 1} are missing")

    def _prove(self, first: int, last: int) -> None:
        if self.proven and self.proven[-1][1] + 1 == first:
            self.proven[-1][1] = last
        else:
            self.proven.append([first, last])

    # --- the report --------------------------------------------------------------------------
    def report(self) -> list[str]:
        kind = "complete" if self.complete else f"filtered ({json.dumps((self.header or {}).get('filters', {}))})"
        span = f" (#{self.first_seq}..#{self.last_seq})" if self.events else ""
        lines = [
            f"Export: {kind}, {self.events} event(s){span}, {self.checkpoints} checkpoint(s), "
            f"{self.valid_checkpoints} with a valid signature (trusted key id(s): {', '.join(sorted(self.keys))})."
        ]
        if self.problems:
            lines.append(f"PROBLEMS ({self.problem_count}), in the order found:")
            for seq, message in self.problems[:SHOWN_PROBLEMS]:
                lines.append(f"  {message}" if seq is None else f"  #{seq}: {message}")
            if self.problem_count > SHOWN_PROBLEMS:
                lines.append(f"  ... and {self.problem_count - SHOWN_PROBLEMS} more.")
        proven = sum(last - first + 1 for first, last in self.proven)
        if self.complete and self.proven and self.proven[0][0] == 1 and not self.problems:
            checkpoint = self.last_checkpoint
            lines.append(
                f"Verified through #{self.proven[0][1]}: every event up to it is intact and matches signed checkpoint "
                f"#{checkpoint['number']}, written {checkpoint['at']}."
            )
        elif self.proven:
            runs = ", ".join(f"#{first}..#{last}" for first, last in self.proven[:10])
            more = f" and {len(self.proven) - 10} more runs" if len(self.proven) > 10 else ""
            lines.append(f"Proven by signed checkpoints: {proven} event(s): {runs}{more}.")
        else:
            lines.append("Proven by signed checkpoints: no event.")
        verified_through = self.proven[0][1] if self.complete and self.proven and self.proven[0][0] == 1 else 0
        if self.complete and not self.problems and self.last_seq and self.last_seq > verified_through:
            lines.append(
                f"Not covered: {_span(verified_through + 1, self.last_seq)} after the last checkpoint in this export: "
                "a change to them would not be detected."
            )
        elif self.events > proven:
            lines.append(
                f"Not proven: {self.events - proven} event(s) not covered by a checkpoint in this export (those after "
                "its last checkpoint, or without every event up to one)."
            )
        return lines


def _events(first: int, last: int, singular: str = "is", plural: str = "are") -> str:
    return f"event #{first} {singular}" if first == last else f"events #{first}..#{last} {plural}"


def _span(first: int, last: int) -> str:
    return f"event #{first}" if first == last else f"events #{first}..#{last} ({last - first + 1})"


def _keys(texts: list[str], files: list[str]) -> dict[str, Ed25519PublicKey]:
    for path in files:
        content = Path(path).read_text()
        texts += [content] if content.lstrip().startswith("-----BEGIN") else content.splitlines()
    if not texts and os.environ.get("AUDIT_VERIFY_KEY"):
        texts = os.environ["AUDIT_VERIFY_KEY"].split(",")
    keys = [public_key(text) for text in texts if text.strip()]
    return {key_id(key): key for key in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="the .jsonl file (- for standard input)")
    parser.add_argument("--public-key", action="append", default=[], help="a trusted public key, base64 (repeatable)")
    parser.add_argument(
        "--public-key-file", action="append", default=[], help="a file of public keys, one a line, or PEM"
    )
    args = parser.parse_args(argv)
    try:
        keys = _keys(list(args.public_key), list(args.public_key_file))
    except (OSError, ValueError, binascii.Error) as error:
        print(f"The public key cannot be read: {error}", file=sys.stderr)
        return 2
    if not keys:
        print(
            "Give the public key of the checkpoints: --public-key, --public-key-file or AUDIT_VERIFY_KEY.",
            file=sys.stderr,
        )
        return 2
    verifier = ExportVerifier(keys)
    try:
        handle = sys.stdin if args.export == "-" else open(args.export, encoding="utf-8")  # noqa: SIM115
        with handle:
            for number, line in enumerate(handle, start=1):
                verifier.feed(number, line)
    except (OSError, UnicodeDecodeError) as error:
        print(f"The export cannot be read: {error}", file=sys.stderr)
        return 2
    verifier.finish()
    print("\n".join(verifier.report()))
    if verifier.problem_count:
        print("FAILED: the export does not verify.")
        return 1
    print("OK: nothing in the export contradicts its signed checkpoints.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
