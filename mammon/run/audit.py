"""Append-only audit log: one JSON line per apply event, each carrying the hash of the line before.

An edited line breaks the chain at that line; a truncated tail no longer matches the head file
(`audit.head`, the count and last hash, rewritten on every append), so `verify` catches both.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from mammon.errors import MammonError

GENESIS = "0" * 64


class AuditError(MammonError):
    """The audit log was edited or truncated."""

    exit_code = 1


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _head(directory: Path) -> tuple[int, str]:
    path = directory / "audit.head"
    if not path.exists():
        return 0, GENESIS
    count, last = path.read_text().split()
    return int(count), last


def append(directory: Path, event: str, when: datetime, **data: Any) -> None:
    count, prev = _head(directory)
    entry = {"seq": count + 1, "time": when.isoformat(), "event": event, **data, "prev": prev}
    entry["hash"] = _digest(entry)
    with open(directory / "audit.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp = directory / ".audit.head.tmp"
    tmp.write_text(f"{entry['seq']} {entry['hash']}\n")
    os.replace(tmp, directory / "audit.head")


def verify(directory: Path) -> int:
    """Check the whole chain; return the number of entries or raise AuditError naming the line."""
    path = directory / "audit.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    prev = GENESIS
    for n, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AuditError(f"line {n} is not JSON (edited)", where=str(path)) from None
        if entry.get("prev") != prev or entry.get("seq") != n:
            raise AuditError(f"line {n} does not follow line {n - 1} (lines removed, reordered or edited)", where=str(path))
        if _digest(entry) != entry.get("hash"):
            raise AuditError(f"line {n} was edited (its hash does not match its content)", where=str(path))
        prev = entry["hash"]
    count, last = _head(directory)
    if (count, last) != (len(lines), prev):
        raise AuditError(f"log holds {len(lines)} entries but the head records {count}: the log was truncated or the head edited", where=str(path))
    return len(lines)
