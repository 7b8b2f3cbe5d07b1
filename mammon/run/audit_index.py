"""What an apply derives from the audit log, without reading all of it every time: the rolling daily spend
and whether a plan was applied already.

The policy's daily limit needs what real steps spent (`audit.spent_since`), and the replay refusal needs the
first real transaction sent for a plan (`audit.applied`). Read naively, that is every line of a log that grows
with every run, simulated ones too (hundreds of lines each): each apply slower than the last. So what both
questions need of the log up to some line is kept in `audit.index` in the state directory: that line's byte
offset, sequence number and hash; every real `step_done` up to it (first record of each transaction: key,
time, spent); for each plan that sent a real transaction, when it first did and its run record; for each
plan that did not (yet), the run record of each run's `apply_started` and of the latest. Those are few (one
line per real transaction or per run, not per event). An apply reads the log only after that line, checking
the chain there as a full read does, and moves the index to the end. One reader (`current`) serves both
questions, so they cannot disagree about how far the log was read.

The index is a cache, never a second truth:

- it is used only while the log holds, ending at its offset, the entry with its sequence number and hash (a
  line whose content still has that hash); anything else (no index, garbled, stale, of another version, a log
  rewritten or cut) and the whole log is read, as before;
- a line after it that is not a well-chained entry sends the reader to the whole log too, so an edited log
  fails naming its first bad line exactly as a full read does;
- it is written without fsync (a temporary file renamed over it): lost or torn by a crash, it is ignored;
- `mammon audit verify` recomputes it from the log and fails when it claims anything else, so a forged index
  (one hiding a spend from the daily limit, or an applied plan from the replay refusal) is caught as a forged
  log is.

What a full read also did on every apply and this one does not: re-hash the lines before the index's line (an
edit there is caught by `mammon audit verify`, which reads everything; the answers still come from those lines
as they were when the index was written).
"""

from __future__ import annotations

import hashlib
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
VERSION = 2  # 1 held the spends only: such an index is ignored, and rebuilt from the log

Spend = tuple[str, "str | None", dict[str, Any]]  # (transaction key, time as logged or None, spent as logged)


@dataclass
class Started:
    """The `apply_started` entries of a plan that has sent no real transaction yet, as `audit.applied` reads
    them: the latest one's record (None when it named none), and each run id's (as `str(record)`)."""

    latest: str | None = None
    runs: dict[str, str] = field(default_factory=dict)


@dataclass
class Index:
    """What the log says up to `offset` bytes, which end with entry `seq` (hash `hash`)."""

    offset: int = 0
    seq: int = 0
    hash: str = audit.GENESIS
    spends: list[Spend] = field(default_factory=list)  # every real step_done's first record, in log order
    applied: dict[str, audit.Applied] = field(default_factory=dict)  # plan hash -> its first real step_sent
    started: dict[str, Started] = field(default_factory=dict)  # plan hash (none in `applied`) -> its apply_started


def add(log: Iterable[audit.Entry], index: Index) -> None:
    """Add to `index` what `log` (the entries after the index's) says: the real steps' spends, each transaction
    once (the first time the log records its outcome), and the plans that sent a real transaction.

    A plan's answer is fixed by its first real `step_sent`: its time, and the record of the `apply_started`
    of the same run id, else of the latest `apply_started` of that plan before it."""
    seen = {key for key, _, _ in index.spends}
    for e in log:
        d = e.data
        event, plan = d.get("event"), d.get("plan")
        if event == "step_done" and not d.get("simulated") and isinstance(d.get("spent"), dict):
            key = str(d.get("tx") or f"{plan}:{d.get('step')}:{e.seq}")
            if key not in seen:
                seen.add(key)
                index.spends.append((key, str(d["time"]) if "time" in d else None, d["spent"]))
        elif not isinstance(plan, str) or plan in index.applied:
            continue  # (a plan that is not a string is no plan hash anyone asks about)
        elif event == "apply_started":
            record = d.get("record") if isinstance(d.get("record"), str) else None
            started = index.started.setdefault(plan, Started())
            started.latest = record
            started.runs[str(d.get("run", ""))] = str(record)
        elif event == "step_sent" and not d.get("simulated"):
            started = index.started.pop(plan, Started())
            index.applied[plan] = audit.Applied(time=str(d.get("time", "")), record=started.runs.get(str(d.get("run", "")), started.latest))


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
    once however often a crashed apply logged its outcome."""
    return totals(current(directory).spends, since)


def applied(directory: Path, plan_hash: str) -> audit.Applied | None:
    """The first real apply of `plan_hash` that sent a transaction, or None."""
    return current(directory).applied.get(plan_hash)


def current(directory: Path) -> Index:
    """The index brought up to the log's last complete line: the log read after the index's line only (all of
    it when the index cannot serve), and the index written back when the log grew. AuditError naming the first
    bad line when the log is not a well-chained one."""
    path = directory / audit.LOG
    index = read_index(directory)
    try:
        with open(path, "rb") as fh:
            if not index.offset or not _holds(fh, index):
                index = Index()  # the whole log
            fh.seek(index.offset)
            raw = fh.read()
    except FileNotFoundError:
        return Index()
    except OSError:
        return _whole_log(directory)  # which names what cannot be read
    lines = raw.split(b"\n")
    lines.pop()  # b"" after the last newline, or a fragment a crashed write left (the next append removes it)
    try:
        new = audit.chained(lines, index.seq, index.hash, path)
    except audit.AuditError:
        return _whole_log(directory)  # names the first bad line, from line 1
    if new:
        add(new, index)
        index.offset += sum(len(line) + 1 for line in lines)
        index.seq, index.hash = new[-1].seq, new[-1].hash
        _write_index(directory, index)
    return index


def _whole_log(directory: Path) -> Index:
    index = Index()
    add(audit.entries(directory), index)
    return index


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
    """The index in the state directory; an empty one when there is none, or it is not one of ours (of another
    version too). A line for where it stands (version, offset, seq, hash) and the sha256 of the lines after it
    (so an index a crash cut short after any line is not believed: it would lack spends or applied plans), then
    one per item, tagged: `["spent", key, time, spent]`, `["applied", plan, time, record]`,
    `["started", plan, latest, {run: record}]`."""
    try:
        first, _, body = (directory / INDEX).read_bytes().partition(b"\n")
        head = audit.loads_line(first)
        if head.get("version") != VERSION or head.get("items") != hashlib.sha256(body).hexdigest():
            return Index()
        found = Index(offset=int(head["offset"]), seq=int(head["seq"]), hash=str(head["hash"]))
        for line in body.split(b"\n")[:-1]:
            _take(found, audit.loads_line(line))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OverflowError):  # OverflowError: int(Infinity)
        return Index()
    if not (0 <= found.offset < 2**62 and 0 <= found.seq < 2**62):  # beyond any file a seek can reach: not ours
        return Index()
    return found


def _base_units(value: object) -> bool:
    """A spend as the engine logs it: a decimal integer text that int() takes (at most uint256's 78 digits)."""
    return isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 78


def _take(index: Index, item: Any) -> None:
    """Add one line of the index file to `index`; ValueError when it is not one `_text` writes."""
    match item:
        case ["spent", str(key), str() | None as time, dict(spent)] if all(_base_units(v) for v in spent.values()):
            index.spends.append((key, time, spent))
        case ["applied", str(plan), str(time), str() | None as record]:
            index.applied[plan] = audit.Applied(time=time, record=record)
        case ["started", str(plan), str() | None as latest, dict(runs)] if all(isinstance(v, str) for v in runs.values()):
            index.started[plan] = Started(latest=latest, runs=runs)
        case _:
            raise ValueError("not a line of the index")


def _text(index: Index) -> str:
    """The index file's content (`read_index` reads it back)."""
    items = [*(["spent", *s] for s in index.spends),
             *(["applied", plan, a.time, a.record] for plan, a in index.applied.items()),
             *(["started", plan, s.latest, s.runs] for plan, s in index.started.items())]
    body = "".join(json.dumps(item, sort_keys=True) + "\n" for item in items)
    head = {"version": VERSION, "offset": index.offset, "seq": index.seq, "hash": index.hash,
            "items": hashlib.sha256(body.encode("ascii")).hexdigest()}
    return json.dumps(head, sort_keys=True) + "\n" + body


def _write_index(directory: Path, index: Index) -> None:
    """Replace the index; not fsynced, and not at all where the state directory cannot take it (it is a cache)."""
    text = _text(index)
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
    """AuditError when the index matches a line of the (checked) log but claims other spends or applied plans
    than the log holds up to it: a forged index would hide spends from the daily limit, or a plan sent already
    from the replay refusal. One that matches no line is never used."""
    index = read_index(directory)
    if not index.offset or not index.seq or index.seq > len(log) or log[index.seq - 1].hash != index.hash:
        return
    truth = Index()
    add(log[:index.seq], truth)
    for what, claimed, held in (("spends", index.spends, truth.spends),
                                ("applied plans", (index.applied, index.started), (truth.applied, truth.started))):
        if claimed != held:
            raise audit.AuditError(f"{INDEX} does not hold the {what} of log entries 1-{index.seq} (edited); delete it, "
                                   "it is rebuilt from the log", where=str(directory / INDEX))
