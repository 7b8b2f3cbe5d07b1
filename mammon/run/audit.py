"""Append-only audit log: one JSON line per apply event, each carrying the hash of the line before.

The log alone is the truth. An append reads the log's own last line for the next sequence number
and hash (no second file has to agree), under an exclusive `flock` so concurrent applies in one
state directory never share a number. A line is one `write` of a whole line followed by `fsync`;
an unterminated last line can only be a write a crash cut short (it was never acknowledged): the
next append removes it and `verify` ignores it.

Anchors make cutting or rewriting the log visible: after every append, the sequence number and hash
are copied into `audit.anchor` in the state directory and into the run record of the apply that
wrote them (`audit_seq`, `audit_hash`). An anchor may lag behind the log (a crash between the two
writes) but never lead it: `verify` fails when an anchored entry is missing (cut) or has another
hash (rewritten and rehashed), and when the log is missing while an anchor shows applies.

Each event names its plan; `step_sent` and `step_done` also say whether the transaction was
simulated, and `step_done` carries what the step spent, so the daily spend and the set of applied
plans are derived from this log (`spent_since`, `applied`) instead of a second ledger that a crash
could leave out of step. (Both read only the lines after those `audit.index` summarises: a cache
checked against the log, and by `verify`; see `mammon.run.audit_index`.)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mammon.errors import MammonError

GENESIS = "0" * 64
LOG = "audit.jsonl"
ANCHOR = "audit.anchor"
MAX_LINE = 1 << 20  # no event is anywhere near 1 MiB: a longer line is not ours
FIRST_READ = 1 << 16  # an append finds the start of the last line in the log's last 64 KiB (events are < 1 KiB)


class AuditError(MammonError):
    """The audit log was edited, cut, rewritten or removed."""

    exit_code = 1


@dataclass(frozen=True)
class Entry:
    seq: int
    hash: str
    data: dict[str, Any]


def _nesting(text: bytes) -> int:
    """The deepest bracket nesting outside strings (checked before parsing: a deep structure would
    exhaust the C stack inside the JSON parser once a library has raised the recursion limit)."""
    depth = deepest = 0
    in_str = esc = False
    for b in text:
        if in_str:
            if esc:
                esc = False
            elif b == 0x5C:
                esc = True
            elif b == 0x22:
                in_str = False
        elif b == 0x22:
            in_str = True
        elif b in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif b in (0x5D, 0x7D):
            depth -= 1
    return deepest


def loads_line(text: bytes, limit: int = 8) -> Any:
    """json.loads of one audit line or run record; ValueError when nested deeper than `limit`."""
    if text.count(b"[") + text.count(b"{") > limit and _nesting(text) > limit:  # no deeper than it has brackets
        raise ValueError("nested too deeply")
    return json.loads(text)


def _c_encoder(item: str, key: str) -> Callable[[Any], str] | None:
    """CPython's C encoder for `json.dumps(value, sort_keys=True, separators=(item, key))`, built once (json.dumps
    builds it on every call); None where it is missing or takes other arguments. The circular-reference check is
    left out: an event is a tree of plain values."""
    make: Any = getattr(json.encoder, "c_make_encoder", None)  # (not in the type stubs)
    if make is None:
        return None
    try:  # the arguments JSONEncoder.iterencode gives it, as they are in CPython 3.11 to 3.13
        encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, key, item, True, False, True)
    except TypeError:  # another signature
        return None
    return lambda value: "".join(encode(value, 0))


def _encoder(item: str, key: str) -> Callable[[Any], str]:
    """`json.dumps(value, sort_keys=True, separators=(item, key))` with its C encoder built once, not on every
    call as json.dumps builds it. json.dumps itself where the C encoder is missing or takes other arguments;
    tests/run/test_audit.py checks both agree."""
    base = json.JSONEncoder(sort_keys=True, separators=(item, key))
    fast = _c_encoder(item, key)
    # A Python whose encoder takes the same types in another order would write other bytes, and other hashes: checked once.
    return fast if fast is not None and fast(_SAMPLE) == base.encode(_SAMPLE) else base.encode


_SAMPLE: dict[str, Any] = {"b": [1, -2, 10**80, 1.5, None, True, False, "é\u2028\"q\"", {"z": {}, "a": []}], "a": "x"}


_hashed = _encoder(",", ":")  # what an entry's hash is taken over
_line = _encoder(", ", ": ")  # how an entry is written

# Both forms of an entry from one encoding (a simulated run seals hundreds of entries at once). The ASCII encoder
# escapes every control character in a string (\u0000...), so a NUL written into the line's separators (", " and
# ": " as ",\0 " and ":\0 ") marks exactly the structural ones: without the NULs it is the line, without each NUL
# and the space after it the compact form the hash is taken over. The entry's own hash is encoded as a placeholder
# (`_HOLE`, written \u0002): the compact form leaves its pair out (never the last: "seq" and "time" sort after
# "hash"), the line gets the digest in its place. An entry that writes the placeholder's text anywhere else (no
# event mammon logs does) is sealed the plain way, by `entry_hash` and `_line`.
_MARK, _HOLE = "\x00", "\x02"
_HOLE_TEXT = "\\u0002"
_HOLE_PAIR = f'"hash":{_MARK} "{_HOLE_TEXT}",{_MARK} '
_marked = _c_encoder(f",{_MARK} ", f":{_MARK} ")


def _spaced(text: str) -> str:
    """Sealed lines (`_sealed`) as they are written."""
    return text.replace(_MARK, "")


def _sealed(entry: dict[str, Any]) -> tuple[str, str]:
    """`entry`'s hash and line, its "hash" set to `_HOLE` (the digest once sealed); the line with `_MARK` in its
    separators (`_spaced` writes it as `_line` does; a line sealed the plain way has none)."""
    if _marked is not None:
        text = _marked(entry)
        if text.count(_HOLE_TEXT) == 1 and _HOLE_PAIR in text:
            digest = hashlib.sha256(text.replace(_HOLE_PAIR, "", 1).replace(_MARK + " ", "").encode()).hexdigest()
            entry["hash"] = digest
            return digest, text.replace(_HOLE_TEXT, digest, 1)
    entry["hash"] = digest = entry_hash(entry)
    return digest, _line(entry)


def entry_hash(entry: dict[str, Any]) -> str:
    """The sha256 of the entry without its `hash`, as compact JSON with sorted keys."""
    body = {k: v for k, v in entry.items() if k != "hash"} if "hash" in entry else entry
    return hashlib.sha256(_hashed(body).encode()).hexdigest()


def _seals_as_dumps() -> bool:
    """Whether `_sealed` gives what `entry_hash` and `_line` give (checked once, as `_encoder` checks)."""
    entry = {"seq": 1, "time": "t", "event": "e", **_SAMPLE, "prev": GENESIS, "hash": _HOLE}
    digest, line = _sealed(dict(entry))
    return (digest, _spaced(line)) == (entry_hash(entry), _line({**entry, "hash": digest}))


if not _seals_as_dumps():
    _marked = None


@contextmanager
def _locked(directory: Path) -> Iterator[int]:
    """The log opened for appending, exclusively locked (released by the kernel if we die)."""
    fd = os.open(directory / LOG, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size == 0:  # a new log (or an empty one): its directory entry made durable before any line is
            from mammon.files import fsync_dir  # once per state directory: loaded only when a log is made

            fsync_dir(directory)
        yield fd
    finally:
        os.close(fd)


def _last_complete(fd: int) -> tuple[int, str]:
    """(seq, hash) of the last complete line; cuts off a torn final line left by a crashed write."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return 0, GENESIS
    for limit in (FIRST_READ, MAX_LINE + 1):  # read more only when the last line starts further back
        chunk = min(size, limit)
        tail = os.pread(fd, chunk, size - chunk)
        if chunk == size or tail.rfind(b"\n", 0, len(tail) - tail.endswith(b"\n")) >= 0:
            break
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n")
        keep = size - chunk + cut + 1 if cut >= 0 else (0 if chunk == size else -1)
        if keep < 0:
            raise AuditError("the last line is longer than any audit entry (not an audit log?)", where=LOG)
        os.ftruncate(fd, keep)
        os.fsync(fd)
        return _last_complete(fd)
    lines = tail[:-1].rsplit(b"\n", 1)
    last = lines[-1]
    if len(lines) == 1 and chunk < size:
        raise AuditError("the last line is longer than any audit entry (not an audit log?)", where=LOG)
    try:
        entry = loads_line(last)
        seq, digest = int(entry["seq"]), str(entry["hash"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise AuditError("the last line is not an audit entry (edited); run `mammon audit verify`", where=LOG) from None
    return seq, digest


def append(directory: Path, event: str, when: datetime, **data: Any) -> tuple[int, str]:
    """Append one event; returns its (seq, hash), the anchor callers keep."""
    with _locked(directory) as fd:
        count, prev = _last_complete(fd)
        entry = {"seq": count + 1, "time": when.isoformat(), "event": event, **data, "prev": prev, "hash": _HOLE}
        digest, line_text = _sealed(entry)
        line = (_spaced(line_text) + "\n").encode()
        if os.write(fd, line) != len(line):  # pragma: no cover - a regular file takes the whole line
            raise AuditError("short write to the audit log", where=str(directory / LOG))
        os.fsync(fd)
        from mammon.run.killpoints import killpoint

        killpoint("audit_appended")
        _write_anchor(directory, entry["seq"], digest)
    return entry["seq"], digest


def append_many(directory: Path, events: Iterable[tuple[str, datetime, dict[str, Any]]]) -> tuple[int, str]:
    """Append several events at once (a simulated run's, written when it ends): one write, one fsync,
    one anchor. Returns the (seq, hash) of the last; the log's head when `events` is empty."""
    with _locked(directory) as fd:
        count, prev = _last_complete(fd)
        lines = []
        last: datetime | None = None
        time = ""
        for event, when, data in events:
            count += 1
            if when is not last:  # a run's events often share the clock's one datetime
                last, time = when, when.isoformat()
            prev, line = _sealed({"seq": count, "time": time, "event": event, **data, "prev": prev, "hash": _HOLE})
            lines.append(line)
        if lines:
            blob = (_spaced("\n".join(lines)) + "\n").encode()
            if os.write(fd, blob) != len(blob):  # pragma: no cover - a regular file takes the whole write
                raise AuditError("short write to the audit log", where=str(directory / LOG))
            os.fsync(fd)
            _write_anchor(directory, count, prev)
    return count, prev


def _write_anchor(directory: Path, seq: int, digest: str) -> None:
    """Replace the anchor: a temporary file, fsynced, renamed over it (under the log's lock, so one name serves).

    The directory is not fsynced (as `record.atomic_write` does): an anchor may lag behind the log, so a rename
    a power loss undoes only leaves the previous anchor, and the log line it names was fsynced first. The
    content is fsynced before the rename, so the anchor is never found empty or garbled after a crash."""
    path, tmp = directory / ANCHOR, directory / f".{ANCHOR}.tmp"
    tmp.unlink(missing_ok=True)  # one a crash left behind (or anything else put there): ours is made afresh
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"{seq} {digest}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_anchor(directory: Path) -> tuple[int, str] | None:
    """The anchor file's (seq, hash), None when there is none; AuditError when it is garbled."""
    path = directory / ANCHOR
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except OSError:
        raise AuditError("the anchor is not readable", where=str(path)) from None
    except UnicodeDecodeError:
        raise AuditError("the anchor is garbled (expected `<seq> <sha256>`)", where=str(path)) from None
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64 or any(c not in "0123456789abcdef" for c in parts[1]):
        raise AuditError("the anchor is garbled (expected `<seq> <sha256>`)", where=str(path))
    return int(parts[0]), parts[1]


def entries(directory: Path) -> list[Entry]:
    """Every entry of the log, the chain checked; AuditError naming the first bad line."""
    path = directory / LOG
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditError(f"cannot read the audit log ({exc.__class__.__name__})", where=str(path)) from None
    lines = raw.split(b"\n")
    torn = lines.pop()  # b"" when the log ends with a newline; else a crashed write's fragment
    del torn
    return chained(lines, 0, GENESIS, path)


def chained(lines: list[bytes], seq: int, prev: str, path: Path) -> list[Entry]:
    """The entries of `lines`, which follow entry `seq` (hash `prev`), the chain checked; AuditError naming
    the first bad line (lines counted from the log's first, as `seq` numbers them)."""
    out: list[Entry] = []
    for n, line in enumerate(lines, start=seq + 1):
        try:
            entry = loads_line(line)
        except (ValueError, RecursionError):
            raise AuditError(f"line {n} is not JSON (edited)", where=str(path)) from None
        if not isinstance(entry, dict):
            raise AuditError(f"line {n} is not an audit entry (edited)", where=str(path))
        if entry.get("prev") != prev or entry.get("seq") != n:
            raise AuditError(f"line {n} does not follow line {n - 1} (lines removed, reordered or edited)", where=str(path))
        if entry_hash(entry) != entry.get("hash"):
            raise AuditError(f"line {n} was edited (its hash does not match its content)", where=str(path))
        prev = entry["hash"]
        out.append(Entry(seq=n, hash=prev, data=entry))
    return out


def check_anchor(log: list[Entry], seq: int, digest: str, source: str, where: Path | str = LOG) -> None:
    if seq > len(log):
        raise AuditError(f"log holds {len(log)} entries but {source} records entry {seq}: the log was cut (truncated)", where=str(where))
    if log[seq - 1].hash != digest:
        raise AuditError(f"entry {seq} differs from the one {source} records: the log was rewritten", where=str(where))


def verify(directory: Path, records: Iterable[Path] = ()) -> int:
    """Check the chain and every anchor (the state directory's, the run records' the log names and
    `records`); return the number of entries or raise AuditError naming what is wrong."""
    anchor = read_anchor(directory)
    log = entries(directory)
    if not log and anchor is not None and anchor[0] > 0:
        raise AuditError(f"the audit log is missing but {directory / ANCHOR} shows {anchor[0]} entries", where=str(directory / LOG))
    if anchor is not None:
        check_anchor(log, anchor[0], anchor[1], f"the anchor ({ANCHOR})", directory / LOG)
    from mammon.run import audit_index

    audit_index.check_index(directory, log)
    named = {Path(str(e.data["record"])) for e in log if e.data.get("event") == "apply_started" and isinstance(e.data.get("record"), str)}
    for path in sorted(named | {Path(p) for p in records}):
        seq_hash = _record_anchor(path, explicit=path in {Path(p) for p in records})
        if seq_hash is not None:
            check_anchor(log, seq_hash[0], seq_hash[1], f"run record {path}", directory / LOG)
    return len(log)


def _record_anchor(path: Path, *, explicit: bool) -> tuple[int, str] | None:
    from mammon.errors import InputError
    from mammon.run.record import read_raw

    if not path.exists():
        if explicit:
            raise AuditError("run record not found", where=str(path))
        return None  # moved or deleted: the state directory's anchor still covers the log
    try:
        data, _ = read_raw(path)
    except InputError:
        if explicit:
            raise AuditError("not a readable run record", where=str(path)) from None
        return None
    if not isinstance(data, dict):
        return None
    seq, digest = data.get("audit_seq"), data.get("audit_hash")
    if isinstance(seq, int) and seq > 0 and isinstance(digest, str):
        return seq, digest
    return None


# ----------------------------------------------------------------------------- derived views


def spent_since(directory: Path, since: datetime) -> dict[str, int]:
    """Base units spent per token symbol since `since` by real (not simulated) steps, each
    transaction counted once however often a crashed apply logged its outcome (`mammon.run.audit_index`:
    the log read after the line its index stands at)."""
    from mammon.run import audit_index

    return audit_index.spent_since(directory, since)


@dataclass(frozen=True)
class Applied:
    """An earlier real apply of a plan: when it first sent a transaction, and its run record."""

    time: str
    record: str | None


def applied(directory: Path, plan_hash: str) -> Applied | None:
    """The first real apply of `plan_hash` that sent a transaction, or None: its first real `step_sent`, with
    the record of the same run's `apply_started` (else the latest before it) (`mammon.run.audit_index`: the log
    read after the line its index stands at)."""
    from mammon.run import audit_index

    return audit_index.applied(directory, plan_hash)
