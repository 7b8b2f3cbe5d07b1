"""The rolling daily spend, derived from the audit log without reading all of it on every apply.

The policy's daily limit needs what real steps spent (`audit.spent_since`). Read naively, that is every line
of a log that grows with every run, simulated ones too (hundreds of lines each): each apply slower than the
last. So the spend-relevant part of the log up to some line is kept in `audit.index` in the state directory:
that line's byte offset, sequence number and hash, and every real `step_done` up to it (first record of each
transaction: key, time, spent), which are few. An apply reads the log only after that line, checking the chain
there as a full read does, and moves the index to the end.

The index is a cache, never a second truth:

- it is used only while the log holds, ending at its offset, the entry with its sequence number and hash (a
  line whose content still has that hash); anything else (no index, garbled, stale, a log rewritten or cut)
  and the whole log is read, as before;
- a line after it that is not a well-chained entry sends the reader to the whole log too, so an edited log
  fails naming its first bad line exactly as a full read does;
- it is written without fsync (a temporary file renamed over it): lost or torn by a crash, it is ignored;
- `mammon audit verify` recomputes it from the log and fails when it claims anything else, so a forged index
  is caught as a forged log is.

What a full read also did on every apply and this one does not: re-hash the lines before the index's line (an
edit there is caught by `mammon audit verify`, which reads everything).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mammon.run import audit

INDEX = "audit.index"
VERSION = 1

Spend = tuple[str, "str | None", dict[str, Any]]  # (transaction key, time as logged or None, spent as logged)


@dataclass
class Index:
    """The log's spend-relevant content up to `offset` bytes, which end with entry `seq` (hash `hash`)."""

    offset: int = 0
    seq: int = 0
    hash: str = audit.GENESIS
    spends: list[Spend] = field(default_factory=list)  # every real step_done's first record, in log order


def spends_of(log: Iterable[audit.Entry], index: Index) -> None:
    """Add to `index.spends` the real steps' spends among `log` (entries after the index's), each
    transaction once: the first time the log records its outcome."""
    seen = {key for key, _, _ in index.spends}
    for e in log:
        d = e.data
        if d.get("event") != "step_done" or d.get("simulated") or not isinstance(d.get("spent"), dict):
            continue
        key = str(d.get("tx") or f"{d.get('plan')}:{d.get('step')}:{e.seq}")
        if key in seen:
            continue
        seen.add(key)
        index.spends.append((key, str(d["time"]) if "time" in d else None, d["spent"]))


def totals(spends: list[Spend], since: datetime) -> dict[str, int]:
    """Base units per token of the spends logged after `since`."""
    out: dict[str, int] = {}
    for _, time, spent in spends:
        if time is None:
            continue
        try:
            when = datetime.fromisoformat(time)
        except ValueError:
            continue
        if when > since:
            for token, amount in spent.items():
                out[token] = out.get(token, 0) + int(amount)
    return out


def spent_since(directory: Path, since: datetime) -> dict[str, int]:
    """Base units spent per token symbol since `since` by real (not simulated) steps, each transaction counted
    once however often a crashed apply logged its outcome; reads the log after the index's line only."""
    path = directory / audit.LOG
    index = read_index(directory)
    try:
        with open(path, "rb") as fh:
            if not index.offset or not _holds(fh, index):
                index = Index()  # the whole log
            fh.seek(index.offset)
            raw = fh.read()
    except FileNotFoundError:
        return {}
    except OSError:
        return _from_whole_log(directory, since)  # which names what cannot be read
    lines = raw.split(b"\n")
    lines.pop()  # b"" after the last newline, or a fragment a crashed write left (the next append removes it)
    try:
        new = audit.chained(lines, index.seq, index.hash, path)
    except audit.AuditError:
        return _from_whole_log(directory, since)  # names the first bad line, from line 1
    if new:
        spends_of(new, index)
        index.offset += sum(len(line) + 1 for line in lines)
        index.seq, index.hash = new[-1].seq, new[-1].hash
        _write_index(directory, index)
    return totals(index.spends, since)


def _from_whole_log(directory: Path, since: datetime) -> dict[str, int]:
    index = Index()
    spends_of(audit.entries(directory), index)
    return totals(index.spends, since)


def _holds(fh: Any, index: Index) -> bool:
    """Whether the log's bytes up to `index.offset` end with the index's entry, unedited."""
    chunk = min(index.offset, audit.FIRST_READ)
    fh.seek(index.offset - chunk)
    tail = fh.read(chunk)
    if len(tail) != chunk or not tail.endswith(b"\n"):
        return False
    start = tail.rfind(b"\n", 0, len(tail) - 1) + 1
    if start == 0 and chunk < index.offset:
        return False  # a line longer than the read: not one of ours, read it all
    try:
        entry = audit.loads_line(tail[start:-1])
    except (ValueError, RecursionError):
        return False
    return (isinstance(entry, dict) and entry.get("seq") == index.seq and entry.get("hash") == index.hash
            and audit.entry_hash(entry) == index.hash)


def read_index(directory: Path) -> Index:
    """The index in the state directory; an empty one when there is none or it is not one of ours. A line
    for where it stands (version, offset, seq, hash), then one per spend: `[key, time, spent]`."""
    try:
        head, *rest = [audit.loads_line(line) for line in (directory / INDEX).read_bytes().split(b"\n") if line]
        spends = [(str(key), None if time is None else str(time), dict(spent)) for key, time, spent in rest]
        found = Index(offset=int(head["offset"]), seq=int(head["seq"]), hash=str(head["hash"]), spends=spends)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return Index()
    if head.get("version") != VERSION or found.offset < 0 or found.seq < 0:
        return Index()
    return found


def _write_index(directory: Path, index: Index) -> None:
    """Replace the index; not fsynced, and not at all where the state directory cannot take it (it is a cache)."""
    head = {"version": VERSION, "offset": index.offset, "seq": index.seq, "hash": index.hash}
    text = "".join(json.dumps(item, sort_keys=True) + "\n" for item in [head, *(list(s) for s in index.spends)])
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{INDEX}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(text)
            os.replace(tmp, directory / INDEX)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def check_index(directory: Path, log: list[audit.Entry]) -> None:
    """AuditError when the index matches a line of the (checked) log but claims other spends than the log holds
    up to it: a forged index would hide spends from the daily limit. One that matches no line is never used."""
    index = read_index(directory)
    if not index.offset or not index.seq or index.seq > len(log) or log[index.seq - 1].hash != index.hash:
        return
    truth = Index()
    spends_of(log[:index.seq], truth)
    if truth.spends != index.spends:
        raise audit.AuditError(f"{INDEX} does not hold the spends of log entries 1-{index.seq} (edited); delete it, "
                               "it is rebuilt from the log", where=str(directory / INDEX))
