"""The run record: a write-ahead journal of one apply, appended to after every change.

The record file is a journal in JSON Lines: its first line is the whole record as the run started
(or resumed), and every later line one change: `{"step": {...}}` (that step's record as it is now)
and/or `{"run": {...}}` (the run's own fields when they changed: status, audit anchor, times). The
current record is the first line with every later line applied in order (`load`). Each change is one `write` of whole lines
followed by `fsync`, so a crash leaves every acknowledged change on disk; a last line without its
newline is a write the crash cut short (never acknowledged), and reading ignores it. A step is
journaled as `sent`, with its hash, nonce and signed bytes, durably before the transaction leaves,
so a rerun looks the hash up (or rebroadcasts those same bytes) instead of signing it again.

Appending keeps a run's cost linear in its size (rewriting the whole record after every change made
a 125-step apply quadratic). Simulated runs and dry runs, where nothing real is at stake, keep their
record in memory and write it once, when they end (`Journal(durable=False)`).

Format versions (semver; a record of another major version is refused by name):

* 1.0.0: the first format.
* 1.1.0: step status `dropped` (another transaction took the step's nonce: `conflict_tx`; the
  dropped hashes are kept in `replaced`, and a rerun signs the step again), run status
  `interrupted` (the node failed mid-run: the steps on the wire stay `sent`, a rerun resolves them),
  `nonce`, `run_id`, `allow_replay`, and the audit anchor (`audit_seq`, `audit_hash`: the last
  audit entry this apply wrote).
* 2.0.0: the journal above (JSON Lines) instead of one JSON document rewritten after every change;
  the fields are those of 1.1.0. Records of format 1.x are still read (a resumed one continues as a
  2.0.0 journal).

Step statuses: pending -> sent -> ok | reverted | failed | dropped; skipped (a dependency failed),
not_run (the stop flag halted the run before it). Run statuses: running, ok, failed, stopped,
interrupted, refused.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from mammon.errors import InputError
from mammon.files import MAX_BYTES, cannot_write, check_output, loads_json, parse_model, read_text, write_output
from mammon.types import Address, Decimals, HexData, Wei

RECORD_VERSION = "2.0.0"
READS_MAJORS = ("1", "2")
StepStatus = Literal["pending", "sent", "ok", "reverted", "failed", "skipped", "not_run", "dropped"]
RunStatus = Literal["running", "ok", "failed", "stopped", "interrupted", "refused"]
DONE: frozenset[str] = frozenset({"ok", "reverted", "failed", "skipped"})


class ActualEffect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: Address
    token: str
    token_address: Address
    decimals: Decimals
    before: Wei
    after: Wei

    @property
    def delta(self) -> int:
        return self.after - self.before


def _assign(model: BaseModel, fields: dict[str, Any]) -> None:
    """`model.<name> = value` for each of `fields` (names of the model's fields), at once: what pydantic's
    `__setattr__` does for a field of a model that neither validates assignments nor is frozen (tests check
    StepRecord is such a model): store the value, mark the field set; without its dispatch per field."""
    model.__dict__.update(fields)
    model.__pydantic_fields_set__.update(fields)


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    status: StepStatus = "pending"
    tx_hash: str | None = None
    nonce: int | None = Field(None, ge=0, description="the nonce the step's transaction was signed with")
    replaced: list[str] = Field(default_factory=list, description="earlier hashes of this step that can never be mined (dropped)")
    conflict_tx: str | None = Field(None, description="dropped: the other transaction that took the nonce, when found")
    simulated: bool = False
    raw_tx: HexData | None = Field(None, description="signed transaction, saved before broadcast (rpc runner)")
    to: Address | None = None
    data: HexData | None = Field(None, description="calldata actually sent (references resolved)")
    resolved: dict[str, Wei] = Field(default_factory=dict, description="argument -> value taken from earlier outputs")
    gas_estimate: int | None = Field(None, ge=0)
    gas_used: int | None = Field(None, ge=0)
    fee_wei: Wei | None = None
    l1_fee_wei: Wei | None = Field(None, description="OP-stack L1 data fee, beside the L2 fee")
    block: int | None = Field(None, ge=0)
    effects: list[ActualEffect] = Field(default_factory=list)  # factories: a literal [] default is deep-copied per record
    outputs: dict[str, Wei] = Field(default_factory=dict)
    return_data: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    # The transitions the engine makes on every step, each setting its fields in one go (`_assign`).

    def begin(self, to: str, data: str, resolved: dict[str, int], started_at: datetime) -> None:
        """The call about to be signed: its target and calldata with references resolved."""
        _assign(self, {"to": to, "data": data, "resolved": resolved, "started_at": started_at})

    def sent(self, tx_hash: str, raw_tx: str | None, nonce: int | None, simulated: bool) -> None:
        """Signed and about to leave: status `sent`, no reason (`conflict_tx` stays: it explains the hash in `replaced`)."""
        _assign(self, {"status": "sent", "tx_hash": tx_hash, "raw_tx": raw_tx, "nonce": nonce, "simulated": simulated, "reason": None})

    def landed(self, effects: list[ActualEffect], gas_used: int, block: int | None, return_data: str, fee_wei: int | None,
               l1_fee_wei: int | None, finished_at: datetime) -> None:
        """The transaction's outcome as the chain reported it, and the balances it moved."""
        _assign(self, {"effects": effects, "gas_used": gas_used, "block": block, "return_data": return_data, "fee_wei": fee_wei,
                       "l1_fee_wei": l1_fee_wei, "finished_at": finished_at})


class RunRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format_version: str = RECORD_VERSION
    plan_hash: str
    chain_id: int
    wallet: Address
    runner: str
    run_id: str | None = None
    status: RunStatus = "running"
    allow_replay: bool = False
    started_at: datetime
    finished_at: datetime | None = None
    stopped_before: str | None = None
    interrupted: str | None = Field(None, description="why the run stopped without an outcome (status interrupted)")
    audit_seq: int | None = Field(None, description="anchor: sequence number of the last audit entry of this apply")
    audit_hash: str | None = Field(None, description="anchor: hash of that audit entry")
    steps: list[StepRecord]
    _positions: dict[str, int] = PrivateAttr(default_factory=dict)

    def step(self, step_id: str) -> StepRecord:
        """The step's record (an index by id, rebuilt whenever `steps` was changed under it)."""
        # The index read from pydantic's private-attribute dict directly: `self._positions` goes through
        # BaseModel.__getattr__ (a few microseconds, and an apply looks steps up several times per step).
        private = self.__pydantic_private__
        n = (private["_positions"] if private is not None else self._positions).get(step_id)
        steps = self.steps
        if n is None or n >= len(steps) or steps[n].id != step_id:
            self._positions = {s.id: i for i, s in reversed(list(enumerate(self.steps)))}
            n = self._positions.get(step_id)
            if n is None:
                raise KeyError(step_id)
        return self.steps[n]


def atomic_write(path: Path, text: str | bytes, mode: int = 0o600) -> None:
    """Replace `path` with `text` durably (`mammon.files.write_output`: a uniquely named temporary file,
    fsynced, renamed over `path`, then the directory fsynced). `mode` is the new file's permission bits
    before the umask: 0o600 (owner only) for run records and audit anchors, 0o666 for what a plain `open`
    would create. A path that cannot be written is an InputError naming it and the OS's reason."""
    write_output(path, text, mode=mode, durable=True, keep_mode=False)


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def _run_fields(record: RunRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude_none=True, exclude={"steps"})


def _step_fields(step: StepRecord) -> dict[str, Any]:
    return step.model_dump(mode="json", exclude_none=True)


def dumps(record: RunRecord) -> str:
    """The record as a journal of one line (what `write` and a finished in-memory run leave): pydantic's own
    JSON, the same bytes `_line` gives for the JSON-mode dump (compact, UTF-8 unescaped; a record holds no
    floats), without building the dump as Python objects first."""
    return record.model_dump_json(exclude_none=True) + "\n"


def _dumped(record: RunRecord) -> bytes:
    """`dumps(record)` as UTF-8 bytes: the JSON pydantic serialises to (which model_dump_json decodes to text),
    written without decoding and encoding 100 KB of it again."""
    return record.__pydantic_serializer__.to_json(record, exclude_none=True) + b"\n"


def write(record: RunRecord, path: str | Path) -> None:
    """Atomically replace `path` with the record as a one-line journal, durable before this returns."""
    atomic_write(Path(path), _dumped(record))


class Journal:
    """Where one run's record goes.

    `durable=True` (a real run): the first `save` writes the whole record (atomically, durable),
    every later `save` appends the run's fields when they changed and the steps it is given, in one
    fsynced write. `durable=False` (simulated and dry runs): `save` only notes the change and
    `close` writes the record once (or nothing, without a path).
    """

    def __init__(self, path: Path | None, *, durable: bool = True, started: bool = False) -> None:
        if path is not None:  # a record that could not be written is refused before the run (and its audit events)
            check_output(path, regular=True)
        self.path = path
        self.durable = durable and path is not None
        self._started = started  # the file already holds a 2.x journal this run continues
        self._run: dict[str, Any] | None = None

    def save(self, record: RunRecord, steps: Iterable[StepRecord] = ()) -> None:
        if not self.durable:
            return
        assert self.path is not None
        run = _run_fields(record)
        if not self._started:
            atomic_write(self.path, _dumped(record))
            self._started, self._run = True, run
            return
        changes: list[dict[str, Any]] = [{"step": _step_fields(s)} for s in steps] or [{}]
        if run != self._run:
            changes[0] = {"run": run, **changes[0]}
        lines = [_line(c) for c in changes if c]
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                if os.write(fd, data) != len(data):  # pragma: no cover - a regular file takes the whole write
                    raise OSError(f"short write to {self.path}")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:  # the disk filled or the file went away mid-run: one line naming the record
            raise cannot_write(exc, self.path) from None
        self._run = run

    def close(self, record: RunRecord) -> None:
        """A run that kept its record in memory writes it now, once."""
        if not self.durable and self.path is not None:
            write(record, self.path)


def _parse_line(line: str, where: str) -> dict[str, Any]:
    data = loads_json(line, where=where)
    if not isinstance(data, dict):
        raise InputError("not a run record: expected a JSON object", where=where)
    return data


def read_raw(path: str | Path) -> tuple[dict[str, Any], bool]:
    """The record in `path` as plain data (a 2.x journal replayed, or a 1.x document), and whether it is
    a journal this mammon appends to. InputError for a file that is neither."""
    text = read_text(path, max_bytes=16 * MAX_BYTES)
    where = str(path)
    first, sep, rest = text.partition("\n")
    try:
        data = _parse_line(first, f"{where}: line 1")
    except InputError:
        data = _parse_line(text, where)  # a 1.x record: one (indented) JSON document
        return data, False
    journal = str(data.get("format_version", "")).startswith("2.")
    if not rest:  # one line: the whole record (validated by the caller)
        return data, journal
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise InputError("not a run record: no steps", where=f"{where}: line 1")
    position = {s.get("id"): i for i, s in enumerate(steps) if isinstance(s, dict)}
    lines = rest.split("\n")
    lines.pop()  # "" after the last newline, or a change a crash cut short (never acknowledged)
    for n, line in enumerate(lines, start=2):
        change = _parse_line(line, f"{where}: line {n}")
        run, step = change.get("run", {}), change.get("step")
        if not change or set(change) - {"run", "step"} or not isinstance(run, dict) or not (
                step is None or isinstance(step, dict) and step.get("id") in position):
            raise InputError("not a journal change: expected {\"run\": {...}} and/or {\"step\": {...}} for a step of the record",
                             where=f"{where}: line {n}")
        data.update(run)
        if step is not None:
            steps[position[step["id"]]] = step
    return data, journal


def load(path: str | Path) -> RunRecord:
    return read(path)[0]


def read(path: str | Path) -> tuple[RunRecord, bool]:
    """The record in `path`, and whether it is a 2.x journal this mammon appends to (one read of the file)."""
    data, appendable = read_raw(path)
    version = data.get("format_version", RECORD_VERSION)
    major = str(version).split(".", 1)[0]
    if major not in READS_MAJORS:
        raise InputError(f"run record format {version} is not readable by this mammon (it reads {', '.join(m + '.x' for m in READS_MAJORS)}); "
                         "use the mammon version that wrote it", where=f"{path}: format_version")
    return parse_model(RunRecord, data, where=str(path)), appendable
