"""`mammon apply` on the simulator: every example end to end, the failure cases, stop, crash and resume.

Each example is compiled on the embedded default world and applied on the same world: every step must
succeed and every effect land within the plan's tolerance. Diffs are pinned as snapshots.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mammon import compile_plan, load_recommendations
from mammon.diff import diff, render_text
from mammon.errors import MammonError, StalePlanError, TamperedPlanError
from mammon.market import DEFAULT_WORLD
from mammon.plan.model import Plan
from mammon.plan.planfile import dump, seal
from mammon.run import record as journal
from mammon.run.record import RunRecord
from mammon.run import state
from mammon.run.api import apply_file, default_record_path
from mammon.run.engine import ApplyOptions, apply_plan
from mammon.run.sim import SimRunner
from mammon_test_support import EXAMPLES, NOW, WALLET

USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
M_USDC = "0xEdc817A28E8B93B03976FBd4a3dDBc9f7D176c22"


def _plans(example: Path) -> list[tuple[str, Plan]]:
    recs = load_recommendations(example)
    plans = [(example.stem if len(recs) == 1 else f"{example.stem}-{i}", compile_plan(r, chain="base", wallet=WALLET, now=NOW))
             for i, r in enumerate(recs, start=1)]
    if len(recs) > 1:
        plans.append((f"{example.stem}-combined", compile_plan(recs, chain="base", wallet=WALLET, now=NOW)))
    return plans


CASES = [case for example in EXAMPLES for case in _plans(example)]


def _apply(tmp_path: Path, plan: Plan, **kwargs: Any):  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.yaml"
    dump(plan, path)
    return apply_file(path, state_dir=tmp_path / "state", **kwargs)


@pytest.mark.parametrize(("name", "plan"), CASES, ids=[name for name, _ in CASES])
def test_every_example_applies_within_tolerance(name: str, plan: Plan, tmp_path: Path, mammon_snapshot: Any) -> None:
    record, result = _apply(tmp_path, plan)
    assert record.status == "ok", render_text(result)
    assert result.ok, render_text(result)
    assert result == diff(plan, record)
    assert [s.status for s in record.steps] == ["ok"] * len(plan.steps)
    assert all(s.simulated and s.tx_hash and s.tx_hash.startswith("0x5111") for s in record.steps)
    assert result == mammon_snapshot


def test_same_plan_and_world_give_the_same_record(tmp_path: Path) -> None:
    _, plan = CASES[0]
    first, _ = _apply(tmp_path / "a", plan) if (tmp_path / "a").mkdir() is None else (None, None)
    second, _ = _apply(tmp_path / "b", plan) if (tmp_path / "b").mkdir() is None else (None, None)
    strip = lambda r: [s.model_dump(exclude={"started_at", "finished_at"}) for s in r.steps]  # noqa: E731
    assert strip(first) == strip(second)


def _world(tmp_path: Path, edit: Any) -> Path:
    world = yaml.safe_load(DEFAULT_WORLD.read_text())
    edit(world)
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world))
    return path


def _plan(**rec: Any) -> Plan:
    from mammon import Recommendation

    return compile_plan(Recommendation(**rec), chain="base", wallet=WALLET, now=NOW)


def test_insufficient_balance_is_refused_field_by_field_before_anything_runs(tmp_path: Path, snapshot: Any) -> None:
    plan = _plan(to_protocol="aave_v3", token="USDC", amount="1000")
    world = _world(tmp_path, lambda w: w["portfolio"]["wallet"].update(USDC="500"))
    with pytest.raises(StalePlanError) as err:
        _apply(tmp_path, plan, runner_options={"world": str(world)})
    assert str(err.value) == snapshot
    assert not default_record_path(tmp_path / "plan.yaml", "sim").exists(), "nothing ran, nothing recorded"


def test_missing_approval_is_refused(tmp_path: Path) -> None:
    plan = _plan(to_protocol="aave_v3", token="USDC", amount="1000")
    without = seal(plan.model_copy(update={"steps": [s.model_copy(update={"depends_on": []}) for s in plan.steps if s.kind != "approve"]}))
    with pytest.raises(TamperedPlanError, match="spends USDC via 0xA238Dd80C259a72e81d7e4664a9801593F98d1c5 without an approval before it"):
        _apply(tmp_path, without)


class NoDryRun(SimRunner):
    """The simulator without its dry run: the state moved between the preflight and the send (a race)."""

    def scratch(self) -> None:  # type: ignore[override]
        return None


def _apply_unchecked(tmp_path: Path, plan: Plan, world: Path | None = None) -> RunRecord:
    runner = NoDryRun.create(plan, world=str(world) if world else None, now=NOW)
    return apply_plan(plan, runner, ApplyOptions(record_path=tmp_path / "run.json", state_dir=state.state_dir(tmp_path / "s")))


def test_preflight_refuses_a_plan_whose_swap_would_miss_its_min_out(tmp_path: Path) -> None:
    plan = _plan(from_protocol="aave_v3", to_protocol="morpho", token="USDC", to_token="WETH", amount="1000")
    moved = lambda w: w["venues"]["uniswap_v3"]["pools"]["USDC/WETH"].update(reserve_b=str(980 * 10**18))  # WETH 2% dearer
    with pytest.raises(StalePlanError, match="step swap reverts: Too little received"):
        _apply(tmp_path, plan, runner_options={"world": str(_world(tmp_path, moved))})
    assert not (tmp_path / "plan.sim.run.json").exists(), "refused before anything ran"


def test_slippage_exceeded_reverts_the_swap_and_skips_what_depends_on_it(tmp_path: Path, mammon_snapshot: Any) -> None:
    plan = _plan(from_protocol="aave_v3", to_protocol="morpho", token="USDC", to_token="WETH", amount="1000")
    moved = lambda w: w["venues"]["uniswap_v3"]["pools"]["USDC/WETH"].update(reserve_b=str(980 * 10**18))  # WETH 2% dearer
    record = _apply_unchecked(tmp_path, plan, _world(tmp_path, moved))
    status = {s.id: s.status for s in record.steps}
    assert status["swap"] == "reverted" and "Too little received" in (record.step("swap").reason or "")
    assert status["deposit_approve"] == status["deposit"] == "skipped"
    assert record.status == "failed" and not diff(plan, record).ok
    assert diff(plan, record) == mammon_snapshot


def test_moonwell_error_code_fails_the_step_without_a_revert(tmp_path: Path, mammon_snapshot: Any) -> None:
    plan = _plan(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    path = tmp_path / "plan.yaml"
    dump(plan, path)
    runner = NoDryRun.create(plan, now=NOW)
    usdc = runner.chain.contract(USDC)
    usdc.move(M_USDC, "0x000000000000000000000000000000000000dEaD", usdc.balance(M_USDC) - 10 * 10**6)  # market cash: 10 USDC
    record = apply_plan(plan, runner, ApplyOptions(record_path=tmp_path / "run.json", state_dir=state.state_dir(tmp_path / "s")))
    withdraw = record.step("withdraw")
    assert withdraw.status == "failed" and "returned error code 14" in (withdraw.reason or "")
    assert [record.step(i).status for i in ("deposit_approve", "deposit")] == ["skipped", "skipped"]
    assert diff(plan, record) == mammon_snapshot


def test_stop_flag_halts_before_the_next_step(tmp_path: Path, mammon_snapshot: Any) -> None:
    plan = _plan(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    directory = state.state_dir(tmp_path / "state")

    def stop_after_first(line: str) -> None:
        if line.startswith("ok") and "withdraw" in line:
            state.set_stop(directory)

    record, _ = _apply(tmp_path, plan, progress=stop_after_first)
    assert record.status == "stopped" and record.stopped_before == "deposit_approve"
    assert [s.status for s in record.steps] == ["ok", "not_run", "not_run"]
    assert diff(plan, record) == mammon_snapshot
    assert json.loads(Path(tmp_path / "plan.sim.run.json").read_text())["stopped_before"] == "deposit_approve"


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


@pytest.mark.parametrize("crash_on", ["send  deposit:", "ok    deposit_approve"])
def test_crash_leaves_a_valid_record_and_the_rerun_sends_nothing_twice(tmp_path: Path, crash_on: str) -> None:
    plan = _plan(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
    runner = SimRunner.create(plan, now=NOW)  # the same simulated chain survives the "crash"
    opts = ApplyOptions(record_path=tmp_path / "run.json", state_dir=state.state_dir(tmp_path / "s"))

    def crash(line: str) -> None:
        if line.startswith(crash_on):
            raise Crash

    with pytest.raises(Crash):
        apply_plan(plan, runner, ApplyOptions(**{**opts.__dict__, "progress": crash}))
    saved = journal.load(opts.record_path)  # valid JSON, written step by step
    assert saved.status == "running" and saved.step("withdraw").status == "ok"
    hashes_before = dict(runner.receipts)
    record = apply_plan(plan, runner, opts)
    assert record.status == "ok" and diff(plan, record).ok
    assert len(runner.receipts) == len(plan.steps), "every step executed exactly once"
    assert all(runner.receipts[h] is r for h, r in hashes_before.items()), "earlier transactions untouched"


def test_a_finished_record_is_not_applied_again(tmp_path: Path) -> None:
    plan = _plan(to_protocol="aave_v3", token="USDC", amount="1000")
    first, _ = _apply(tmp_path, plan)
    again, _ = _apply(tmp_path, plan)
    assert [s.tx_hash for s in again.steps] == [s.tx_hash for s in first.steps]


def test_record_of_another_runner_or_plan_is_refused(tmp_path: Path) -> None:
    plan = _plan(to_protocol="aave_v3", token="USDC", amount="1000")
    other = _plan(to_protocol="aave_v3", token="USDC", amount="999")
    _apply(tmp_path, plan, record_path=tmp_path / "run.json")
    with pytest.raises(MammonError, match="belongs to plan"):
        _apply(tmp_path, other, record_path=tmp_path / "run.json")


def test_audit_log_records_the_apply_and_verifies(tmp_path: Path) -> None:
    from mammon.run import audit

    _apply(tmp_path, _plan(to_protocol="aave_v3", token="USDC", amount="1000"))
    events = [json.loads(line)["event"] for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    assert events == ["apply_started", "step_sent", "step_done", "step_sent", "step_done", "apply_finished"]
    assert audit.verify(tmp_path / "state") == 6
