"""The run record: a write-ahead journal of one apply, rewritten atomically after every change.

Each write goes to a temporary file that is fsynced and renamed over the record (then the directory
is fsynced), so a crash at any instant leaves either the previous or the new complete record. A step
is journaled as `sent`, with its hash and signed bytes, before the transaction leaves, so a rerun
looks the hash up (or rebroadcasts those same bytes) instead of signing it again.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mammon.errors import InputError
from mammon.files import parse_model, read_data
from mammon.types import Address, HexData, Wei

RECORD_VERSION = "1.0.0"
StepStatus = Literal["pending", "sent", "ok", "reverted", "failed", "skipped", "not_run"]
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
    status: Literal["running", "ok", "failed", "stopped", "refused"] = "running"
    started_at: datetime
    finished_at: datetime | None = None
    stopped_before: str | None = None
    steps: list[StepRecord]

    def step(self, step_id: str) -> StepRecord:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def write(record: RunRecord, path: str | Path) -> None:
    """Atomically replace `path` with the record, durable before this returns."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    data = json.dumps(record.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False) + "\n"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent if str(path.parent) else ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(path: str | Path) -> RunRecord:
    data = read_data(path)
    if not isinstance(data, dict):
        raise InputError("not a run record: expected a JSON object", where=str(path))
    return parse_model(RunRecord, data, where=str(path))
