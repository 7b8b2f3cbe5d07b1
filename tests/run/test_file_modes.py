"""Files written by replacing them durably (`record.atomic_write`) keep their modes: a Safe signatures file is
what a plain `open` creates (owners pass it to one another), a run record is its owner's only."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mammon.compile.batching import SafeState
from mammon.run import record as journal
from mammon.run.record import RunRecord, StepRecord
from mammon.run.safe import Signatures

WALLET = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
SAFE = "0x000000000000000000000000000000000000bEEF"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saved_signatures_replace_the_file_with_the_mode_open_gives_and_leave_no_temporary_file(tmp_path: Path, umask_022: None) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    path = tmp_path / "plan.safe-signatures.json"
    path.write_text("an older file")
    Signatures("sha256:ab", "0x" + "22" * 32, {"0xB0": "0x02", "0xA0": "0x01"}).save(path)
    assert _mode(path) == _mode(plain) == 0o644
    assert json.loads(path.read_text()) == {"plan": "sha256:ab", "safe_tx_hash": "0x" + "22" * 32, "signatures": {"0xA0": "0x01", "0xB0": "0x02"}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt", "plan.safe-signatures.json"]


@pytest.mark.parametrize("text, problem", [("[" * 100_000, "nested deeper than 64 levels"), ('{"plan": 1, "plan": 2}', "duplicate key"),
                                           ('{"plan": "x"}', "not a mammon Safe signatures file (KeyError)")])
def test_a_signatures_file_is_read_as_every_user_file_is(tmp_path: Path, text: str, problem: str) -> None:
    """A hostile signatures file is one line naming it (100,000 brackets crashed json.loads with RecursionError)."""
    from mammon import compile_plan, load_recommendations
    from mammon.errors import InputError
    from mammon_test_support import EXAMPLES_DIR, NOW

    plan = compile_plan(load_recommendations(EXAMPLES_DIR / "morpho-to-aave.yaml"), chain="base", wallet=SAFE, now=NOW, execution="safe",
                        safe=SafeState(nonce=0, owners=[WALLET], threshold=1))
    path = tmp_path / "plan.safe-signatures.json"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        Signatures.load(path, plan)
    assert str(exc.value).startswith(f"{path}: ") and problem in str(exc.value)


def test_a_run_record_stays_readable_by_its_owner_only(tmp_path: Path, umask_022: None) -> None:
    rec = RunRecord(plan_hash="sha256:ab", chain_id=1, wallet=WALLET, runner="rpc", started_at=datetime(2026, 1, 1, tzinfo=UTC),
                    steps=[StepRecord(id="a")])
    journal.write(rec, tmp_path / "run.json")
    assert _mode(tmp_path / "run.json") == 0o600
