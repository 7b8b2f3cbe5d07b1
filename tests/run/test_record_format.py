"""Run record formats: 1.0.0 records (before `dropped`/`interrupted`) are still read, another major is
refused by name, and two writers never share a temporary file. (The 2.0.0 journal itself: test_journal.py.)"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mammon.errors import InputError
from mammon.node import _retry_after
from mammon.run import record as journal
from mammon.run.record import RECORD_VERSION, RunRecord, StepRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _old(tmp_path: Path, version: str) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"format_version": version, "plan_hash": "sha256:ab", "chain_id": 8453, "wallet": WALLET, "runner": "rpc",
                                "status": "running", "started_at": "2026-01-01T00:00:00Z",
                                "steps": [{"id": "withdraw", "status": "sent", "tx_hash": "0x" + "11" * 32}]}))
    return path


def test_a_1_0_0_record_is_read_and_rewritten_as_2_0_0(tmp_path: Path) -> None:
    rec = journal.load(_old(tmp_path, "1.0.0"))
    assert rec.steps[0].status == "sent" and rec.steps[0].nonce is None and rec.steps[0].replaced == []
    rec.format_version = RECORD_VERSION
    journal.write(rec, tmp_path / "run.json")
    assert json.loads((tmp_path / "run.json").read_text())["format_version"] == "2.0.0"


def test_another_major_version_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"run record format 3.0.0 is not readable by this mammon \(it reads 1.x, 2.x\)"):
        journal.load(_old(tmp_path, "3.0.0"))


@pytest.mark.parametrize("field, value", [("gas_used", -1), ("block", -5), ("nonce", -1), ("gas_estimate", -2)])
def test_a_record_with_a_negative_count_is_refused_by_field(tmp_path: Path, field: str, value: int) -> None:
    """`mammon diff` reads records a user hands it: a gas figure, block or nonce below 0 is no record mammon wrote."""
    path = _old(tmp_path, "2.0.0")
    data = json.loads(path.read_text())
    data["steps"][0][field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=rf"steps.0.{field}: Input should be greater than or equal to 0"):
        journal.load(path)


def test_concurrent_writers_never_share_a_temporary_file(tmp_path: Path) -> None:
    rec = RunRecord(plan_hash="sha256:ab", chain_id=1, wallet=WALLET, runner="rpc", started_at=T0, steps=[StepRecord(id="a")])
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(50):
                journal.write(rec, tmp_path / "run.json")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and journal.load(tmp_path / "run.json").plan_hash == "sha256:ab"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_retry_after_forms() -> None:
    assert _retry_after("3") == 3.0 and _retry_after("0") == 0.0 and _retry_after(None) is None and _retry_after("soon") is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now


def _state(step: StepRecord) -> tuple[dict[str, object], set[str], str]:
    return dict(step.__dict__), set(step.model_fields_set), step.model_dump_json()


def test_step_transitions_leave_a_record_as_attribute_assignments_do() -> None:
    """The engine's transitions (`StepRecord.begin`, `sent`, `landed`) set their fields in one go, bypassing pydantic's
    `__setattr__`: that is the same only for a model that neither validates assignments nor is frozen, and then
    leaves the same values, the same fields marked set and the same JSON as the assignments they stand for."""
    assert not StepRecord.model_config.get("validate_assignment") and not StepRecord.model_config.get("frozen")
    at = datetime(2026, 1, 2, tzinfo=UTC)
    effects = [journal.ActualEffect(account="0x" + "11" * 20, token="USDC", token_address="0x" + "22" * 20, decimals=6, before=5, after=9)]
    bulk, plain = StepRecord(id="s1", conflict_tx="0x" + "33" * 32, reason="dropped"), StepRecord(id="s1", conflict_tx="0x" + "33" * 32, reason="dropped")
    bulk.begin("0x" + "44" * 20, "0xabcd", {"amount": 7}, at)
    plain.to, plain.data, plain.resolved, plain.started_at = "0x" + "44" * 20, "0xabcd", {"amount": 7}, at
    assert _state(bulk) == _state(plain)
    bulk.sent("0x5111" + "55" * 30, None, 3, True)
    plain.status, plain.tx_hash, plain.raw_tx, plain.nonce, plain.simulated, plain.reason = "sent", "0x5111" + "55" * 30, None, 3, True, None
    assert _state(bulk) == _state(plain)
    bulk.landed(effects, 21000, 4, "0x", None, 12, at)
    plain.effects, plain.gas_used, plain.block, plain.return_data, plain.fee_wei, plain.l1_fee_wei, plain.finished_at = effects, 21000, 4, "0x", None, 12, at
    assert _state(bulk) == _state(plain)


def test_a_record_is_written_as_the_json_dumps_gives(tmp_path: Path) -> None:
    """`write` puts pydantic's serialised bytes in the file without a text layer (issue #10): the file holds
    exactly `dumps(record)` in UTF-8, non-ASCII text included, and reads back as the record written."""
    steps = [StepRecord(id="s1", status="failed", reason="reverted: «no» 😀", started_at=T0), StepRecord(id="s2")]
    rec = RunRecord(plan_hash="sha256:ab", chain_id=8453, wallet=WALLET, runner="sim", started_at=T0, steps=steps)
    journal.write(rec, tmp_path / "run.json")
    assert (tmp_path / "run.json").read_bytes() == journal.dumps(rec).encode("utf-8")
    assert journal.load(tmp_path / "run.json") == rec
    journal.atomic_write(tmp_path / "text.json", journal.dumps(rec))  # (text is written as before)
    assert (tmp_path / "text.json").read_bytes() == (tmp_path / "run.json").read_bytes()
