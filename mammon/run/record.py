"""The run record: a write-ahead journal of one apply, rewritten atomically after every change.

Each write goes to a uniquely named temporary file that is fsynced and renamed over the record (then
the directory is fsynced), so a crash at any instant leaves either the previous or the new complete
record. A step is journaled as `sent`, with its hash, nonce and signed bytes, before the transaction
leaves, so a rerun looks the hash up (or rebroadcasts those same bytes) instead of signing it again.

Format versions (semver; a record of another major version is refused by name):

* 1.0.0: the first format.
* 1.1.0: step status `dropped` (another transaction took the step's nonce: `conflict_tx`; the
  dropped hashes are kept in `replaced`, and a rerun signs the step again), run status
  `interrupted` (the node failed mid-run: the steps on the wire stay `sent`, a rerun resolves them),
  `nonce`, `run_id`, `allow_replay`, and the audit anchor (`audit_seq`, `audit_hash`: the last
  audit entry this apply wrote).

Step statuses: pending -> sent -> ok | reverted | failed | dropped; skipped (a dependency failed),
not_run (the stop flag halted the run before it). Run statuses: running, ok, failed, stopped,
interrupted, refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mammon.errors import InputError
from mammon.files import parse_model, read_data
from mammon.types import Address, HexData, Wei

RECORD_VERSION = "1.1.0"
READS_MAJOR = 1
StepStatus = Literal["pending", "sent", "ok", "reverted", "failed", "skipped", "not_run", "dropped"]
RunStatus = Literal["running", "ok", "failed", "stopped", "interrupted", "refused"]
DONE: frozenset[str] = frozenset({"ok", "reverted", "failed", "skipped"})


class ActualEffect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: Address
    token: str
    token_address: Address
    decimals: int
    before: Wei
    after: Wei

    @property
    def delta(self) -> int:
        return self.after - self.before


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    status: StepStatus = "pending"
    tx_hash: str | None = None
    nonce: int | None = Field(None, description="the nonce the step's transaction was signed with")
    replaced: list[str] = Field(default_factory=list, description="earlier hashes of this step that can never be mined (dropped)")
    conflict_tx: str | None = Field(None, description="dropped: the other transaction that took the nonce, when found")
    simulated: bool = False
    raw_tx: HexData | None = Field(None, description="signed transaction, saved before broadcast (rpc runner)")
    to: Address | None = None
    data: HexData | None = Field(None, description="calldata actually sent (references resolved)")
    resolved: dict[str, Wei] = Field(default_factory=dict, description="argument -> value taken from earlier outputs")
    gas_estimate: int | None = None
    gas_used: int | None = None
    fee_wei: Wei | None = None
    l1_fee_wei: Wei | None = Field(None, description="OP-stack L1 data fee, beside the L2 fee")
    block: int | None = None
    effects: list[ActualEffect] = []
    outputs: dict[str, Wei] = {}
    return_data: str | None = None
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


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

    def step(self, step_id: str) -> StepRecord:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` with `text` durably: a uniquely named temporary file (so two writers never share
    one), fsynced, renamed over `path`, then the directory fsynced."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write(record: RunRecord, path: str | Path) -> None:
    """Atomically replace `path` with the record, durable before this returns."""
    atomic_write(Path(path), json.dumps(record.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False) + "\n")


def load(path: str | Path) -> RunRecord:
    data = read_data(path)
    if not isinstance(data, dict):
        raise InputError("not a run record: expected a JSON object", where=str(path))
    version = data.get("format_version", RECORD_VERSION)
    major = str(version).split(".", 1)[0]
    if major != str(READS_MAJOR):
        raise InputError(f"run record format {version} is not readable by this mammon (it reads {READS_MAJOR}.x); "
                         "use the mammon version that wrote it", where=f"{path}: format_version")
    return parse_model(RunRecord, data, where=str(path))
