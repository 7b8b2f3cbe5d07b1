"""A simulated apply runs the plan once (`engine._speculate`) instead of a preflight and then the run: the same
outcome, byte for byte, as the classic path it replaces.

Differential: every example of plans/examples (compiled on the default world, as the compile tests do) applied
on the simulator both ways (`engine.SPECULATE`), comparing the run record and its file, the simulated chain
afterwards, the audit log and what `before_send` showed. And what the speculation must take back or leave to
the classic path: a plan whose step fails is refused with the same message and nothing kept; a `before_send`
that raises leaves the chain and the files untouched; a stop flag set while the review is shown stops the run
before its first step; an exception from the simulator itself propagates as it is; a caller that takes
progress lines gets the classic path, its callback acting on the run at the line it acts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mammon import Recommendation, compile_plan, load_recommendations
from mammon.errors import StalePlanError
from mammon.plan.model import Plan
from mammon.run import engine, state
from mammon.run.engine import ApplyOptions, apply_plan
from mammon.run.record import RunRecord
from mammon.run.session import no_progress
from mammon.run.sim import SimRunner
from mammon.sim.core import external
from mammon.sim.moonwell import MToken
from mammon_test_support import EXAMPLES, NOW, WALLET


def _cases() -> list[tuple[str, Plan]]:
    cases = []
    for example in EXAMPLES:
        recs = load_recommendations(example)
        cases += [(example.stem if len(recs) == 1 else f"{example.stem}-{i}", compile_plan(r, chain="base", wallet=WALLET, now=NOW))
                  for i, r in enumerate(recs, start=1)]
        if len(recs) > 1:
            cases.append((f"{example.stem}-combined", compile_plan(recs, chain="base", wallet=WALLET, now=NOW)))
    return cases


CASES = _cases()


def _chain_state(runner: SimRunner) -> dict[str, Any]:
    chain = runner.chain
    return {"storage": dict(chain.storage), "nonces": dict(chain.nonces), "block": chain.block, "timestamp": chain.timestamp,
            "receipts": dict(chain.receipts), "runner": (dict(runner.receipts), dict(runner.pending), dict(runner.steps))}


def _audit(where: Path) -> list[dict[str, Any]]:
    """The audit log without what differs between any two runs: the run id, the hashes chained over it, the directory."""
    log = where / "state" / "audit.jsonl"
    if not log.exists():
        return []
    text = log.read_text().replace(str(where.resolve()), "<where>")
    return [{k: v for k, v in json.loads(line).items() if k not in ("run", "hash", "prev")} for line in text.splitlines()]


def _apply(where: Path, plan: Plan, *, speculative: bool, world: Callable[[SimRunner], None] = lambda _r: None,
           progress: Callable[[str], None] | None = None, before_send: Callable[[], None] | None = None) -> dict[str, Any]:
    """Apply on a fresh simulator one way or the other; everything a user or a later run could see of it."""
    where.mkdir()
    runner = SimRunner.create(plan, now=NOW)
    world(runner)
    lines: list[str] = []
    opts = ApplyOptions(record_path=where / "run.json", state_dir=state.state_dir(where / "state"), now=lambda: NOW,
                        progress=progress or no_progress, before_send=before_send or (lambda: lines.append("<the review>")))
    saved = engine.SPECULATE
    engine.SPECULATE = speculative
    outcome: RunRecord | BaseException
    try:
        outcome = apply_plan(plan, runner, opts)
    except BaseException as exc:  # noqa: BLE001 - compared below, whatever it is
        outcome = exc
    finally:
        engine.SPECULATE = saved
    unique = {"run_id", "audit_hash"}  # a random id, and the audit hash chained over it
    record_file = None
    if (where / "run.json").exists():
        record_file = json.loads((where / "run.json").read_text())  # one line: a simulated run writes its record once
        record_file = {k: v for k, v in record_file.items() if k not in unique}
    return {
        "outcome": outcome.model_dump(exclude=unique) if isinstance(outcome, RunRecord) else f"{type(outcome).__name__}: {outcome}",
        "record file": record_file, "chain": _chain_state(runner), "audit": _audit(where), "shown": lines,
    }


@pytest.mark.parametrize(("name", "plan"), CASES, ids=[name for name, _ in CASES])
def test_every_example_gives_what_the_classic_path_gives(name: str, plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[str] = []
    real_execute = engine.execute
    monkeypatch.setattr(engine, "execute", lambda *a, **k: passes.append("pass") or real_execute(*a, **k))
    fast = _apply(tmp_path / "speculative", plan, speculative=True)
    assert passes == ["pass"], "one pass: the run itself"
    classic = _apply(tmp_path / "classic", plan, speculative=False)
    assert passes == ["pass"] * 3, "the classic path: the preflight's pass, then the run's"
    assert fast["outcome"]["status"] == "ok"
    assert fast == classic


def _plan(**rec: Any) -> Plan:
    return compile_plan(Recommendation(**rec), chain="base", wallet=WALLET, now=NOW)


USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
M_USDC = "0xEdc817A28E8B93B03976FBd4a3dDBc9f7D176c22"
MOVE = dict(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")


def _market_cash_gone(runner: SimRunner) -> None:
    """Moonwell's USDC market keeps 10 USDC of cash: the withdrawal returns error code 14 (a failed step, not a revert)."""
    usdc = runner.chain.contract(USDC)
    usdc.move(M_USDC, "0x000000000000000000000000000000000000dEaD", usdc.balance(M_USDC) - 10 * 10**6)  # type: ignore[union-attr]


def test_a_step_that_fails_is_refused_exactly_as_before(tmp_path: Path) -> None:
    plan = _plan(**MOVE)
    fast = _apply(tmp_path / "speculative", plan, speculative=True, world=_market_cash_gone)
    classic = _apply(tmp_path / "classic", plan, speculative=False, world=_market_cash_gone)
    assert fast == classic
    assert fast["outcome"] == ("StalePlanError: preflight (the whole plan, tried on a copy of the current state): plan is stale: "
                               "step withdraw fails: returned error code 14 (expected 0): Compound error code must be 0 (NO_ERROR); mTokens return codes "
                               "instead of reverting")
    assert fast["record file"] is None and fast["audit"] == [] and fast["shown"] == [], "nothing shown, nothing written"
    untouched = SimRunner.create(plan, now=NOW)
    _market_cash_gone(untouched)
    assert fast["chain"] == _chain_state(untouched), "the world as it was"


def test_a_before_send_that_raises_leaves_the_world_and_the_files_untouched(tmp_path: Path) -> None:
    plan = _plan(**MOVE)

    def refuse() -> None:
        raise KeyboardInterrupt

    fast = _apply(tmp_path / "speculative", plan, speculative=True, before_send=refuse)
    assert fast == _apply(tmp_path / "classic", plan, speculative=False, before_send=refuse)
    assert fast["outcome"] == "KeyboardInterrupt: " and fast["shown"] == []
    assert fast["record file"] is None and fast["audit"] == []
    assert fast["chain"] == _chain_state(SimRunner.create(plan, now=NOW))


class Crash(BaseException):
    """Stands for the process dying at a progress line (nothing may catch it)."""


def test_a_stop_flag_set_while_the_review_is_shown_stops_the_run_before_its_first_step(tmp_path: Path) -> None:
    plan = _plan(**MOVE)

    def run(where: Path, speculative: bool) -> dict[str, Any]:
        return _apply(where, plan, speculative=speculative, before_send=lambda: state.set_stop(where / "state"))

    fast = run(tmp_path / "speculative", True)
    assert fast == run(tmp_path / "classic", False)
    assert fast["outcome"]["status"] == "stopped" and fast["outcome"]["stopped_before"] == plan.steps[0].id
    assert fast["chain"] == _chain_state(SimRunner.create(plan, now=NOW)), "nothing ran"


def test_an_exception_from_the_simulator_itself_propagates_as_on_the_classic_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(**MOVE)

    @external
    def broken(self: MToken, msg: Any, redeemAmount: int) -> int:
        return 1 // 0

    monkeypatch.setattr(MToken, "redeemUnderlying", broken)
    fast = _apply(tmp_path / "speculative", plan, speculative=True)
    assert fast == _apply(tmp_path / "classic", plan, speculative=False)
    assert fast["outcome"] == "ZeroDivisionError: integer division or modulo by zero"
    assert fast["record file"] is None and fast["audit"] == []


@pytest.mark.parametrize("at", [0, 2])
@pytest.mark.parametrize("action", ["raises", "sets the stop flag", "raises a MammonError"])
def test_a_caller_that_takes_progress_gets_the_classic_path_and_its_callback_acts_at_its_line(
        tmp_path: Path, at: int, action: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(**MOVE)
    passes: list[str] = []
    real_execute = engine.execute
    monkeypatch.setattr(engine, "execute", lambda *a, **k: passes.append("pass") or real_execute(*a, **k))

    def run(where: Path, speculative: bool) -> dict[str, Any]:
        seen: list[str] = []

        def progress(line: str) -> None:
            seen.append(line)
            if len(seen) == at + 2:  # the review, then progress lines 0..at
                if action == "raises":
                    raise Crash(line)
                if action == "raises a MammonError":
                    raise StalePlanError(["the callback says no"], where="progress")
                state.set_stop(where / "state")

        out = _apply(where, plan, speculative=speculative, progress=progress, before_send=lambda: seen.append("<the review>"))
        out["shown"] = seen
        return out

    fast = run(tmp_path / "speculative", True)
    assert passes == ["pass", "pass"], "the preflight's pass, then the run's"
    assert fast == run(tmp_path / "classic", False)
    assert fast["shown"][0] == "<the review>"
    if action == "sets the stop flag":
        assert fast["outcome"]["status"] == "stopped"
    else:
        assert len(fast["shown"]) == at + 2, "nothing shown after the line that raised"
