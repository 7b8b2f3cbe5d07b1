"""Never stuck, never replayed, never a traceback: `mammon apply --runner rpc` as a real process under
kill -9 at every journal transition, seeded RPC faults, a node that fails while a rerun recovers,
reruns past `valid_until`, replays, stop/resume with drift, and a fork that must die with its parent.
Every test checks the chain afterwards (one mined transaction per step, balances as planned)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import checks
from chainview import WALLET, record_of
from mammon.run import audit
from mammon.run.record import RECORD_VERSION
from proxy import FaultProxy

THREE = "moonwell-to-aave"  # withdraw, approve, deposit
FIVE = "moonwell-usdc-to-aave-weth"  # withdraw, approve, swap, approve, deposit
# One of each kind here (step_journaled, step_broadcast and step_outcome are also killed in the tests
# below); bench/soak.py kills at every point of 5- and 8-step plans.
KILL_POINTS = ["apply_started:1", "step_signed:1", "receipt_wait:3", "step_outcome:1", "step_done:2", "audit_appended:3"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_then_rerun_reaches_the_right_state(point: str, compile_plan: Any, apply_cli: Any, onchain: Any,
                                                   tmp_path: Path, state_home: Path) -> None:
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    killed = apply_cli(plan, env={"MAMMON_TEST_KILL_AT": point})
    assert killed.killed, killed.stderr
    assert audit.verify(state_home) > 0  # the log verifies at every instant
    rerun = apply_cli(plan)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    assert record["status"] == "ok" and record["format_version"] == RECORD_VERSION
    checks.right_state(onchain, plan, start, record)
    assert audit.verify(state_home, [tmp_path / "run.json"]) > 0


@pytest.mark.parametrize("seed", [3, 7])
def test_seeded_rpc_faults_on_every_method_complete(seed: int, compile_plan: Any, apply_cli: Any, onchain: Any,
                                                    devnet: Any, tmp_path: Path) -> None:
    plan = compile_plan(FIVE)
    start = checks.before(onchain, plan)
    with FaultProxy(devnet.rpc_url, seed=seed, rate=0.15, delay=1.2) as proxy:
        result = apply_cli(plan, url=proxy.url)
    assert result.code == 0, result.stderr
    assert {f for (_, f) in proxy.stats} >= {"drop", "429", "32603"}, proxy.stats
    checks.right_state(onchain, plan, start, record_of(tmp_path / "run.json"))


def test_a_node_failing_while_a_rerun_recovers_leaves_the_step_sent(compile_plan: Any, apply_cli: Any, onchain: Any,
                                                                    devnet: Any, tmp_path: Path) -> None:
    """Defect 1: an unreachable node means the outcome is unknown, not failed; a later rerun resolves it."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_broadcast:2"}).killed
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_getTransactionReceipt", "502", 1000)
        broken = apply_cli(plan, url=proxy.url)
    assert broken.code == 2 and len(broken.stderr.splitlines()) == 1
    assert broken.stderr.startswith(f"error: node: eth_getTransactionReceipt: the node at {proxy.url} failed to answer")
    record = record_of(tmp_path / "run.json")
    assert record["status"] == "interrupted" and [s["status"] for s in record["steps"]] == ["ok", "sent", "pending"]
    fixed = apply_cli(plan)
    assert fixed.code == 0, fixed.stderr
    checks.right_state(onchain, plan, start, record_of(tmp_path / "run.json"))


def test_expiry_guards_new_sends_only(compile_plan: Any, apply_cli: Any, onchain: Any, tmp_path: Path) -> None:
    """Defect 10: past valid_until, what is on the wire is still resolved; nothing new is signed."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_broadcast:1"}).killed
    late = apply_cli(plan, env={"MAMMON_NOW": "2026-01-01T01:00:00Z"})
    assert late.code == 2 and "valid_until 2026-01-01T00:10:00+00:00 has passed" in late.stderr, late.stderr
    record = record_of(tmp_path / "run.json")
    assert [s["status"] for s in record["steps"]] == ["ok", "pending", "pending"] and record["status"] == "refused"
    assert onchain.nonce() == start.nonce + 1  # the journaled step was resolved, nothing else sent


def test_expired_plan_whose_last_step_is_on_the_wire_completes(compile_plan: Any, apply_cli: Any, onchain: Any, tmp_path: Path) -> None:
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_journaled:3"}).killed
    late = apply_cli(plan, env={"MAMMON_NOW": "2026-01-01T01:00:00Z"})
    assert late.code == 0, late.stderr
    checks.right_state(onchain, plan, start, record_of(tmp_path / "run.json"))


def test_a_finished_plan_is_not_applied_again(compile_plan: Any, apply_cli: Any, onchain: Any, tmp_path: Path, state_home: Path) -> None:
    """Defect 6: a new -o, or a deleted record, does not make a second execution; --allow-replay does, audited."""
    plan = compile_plan("wallet-to-aave")
    start = checks.before(onchain, plan)
    assert apply_cli(plan).code == 0
    again = apply_cli(plan, record=tmp_path / "other.run.json")
    assert again.code == 2 and len(again.stderr.splitlines()) == 1
    assert "was already applied on devnet (31337) by " + WALLET + " on 2026-01-01 00:00:00 UTC" in again.stderr
    assert f"run record {tmp_path / 'run.json'}" in again.stderr
    (tmp_path / "run.json").unlink()
    assert apply_cli(plan).code == 2
    checks.right_state(onchain, plan, start)  # still one transaction per step
    replay = apply_cli(plan, "--allow-replay", record=tmp_path / "replay.run.json")
    assert replay.code == 0, replay.stderr
    assert onchain.nonce() == start.nonce + 2 * len(checks.load(plan).steps)
    assert [e.data["replay_of"] for e in audit.entries(state_home) if e.data["event"] == "replay_allowed"] == [str(tmp_path / "run.json")]
    assert record_of(tmp_path / "replay.run.json")["allow_replay"] is True


def test_stop_before_the_first_step_then_drift_rechecks_everything(compile_plan: Any, apply_cli: Any, onchain: Any,
                                                                   chain: Any, tmp_path: Path, state_home: Path) -> None:
    """Defect 3: the rerun after `mammon stop` re-checks preconditions and the preflight."""
    plan = compile_plan("wallet-to-aerodrome-lp")
    start = checks.before(onchain, plan)
    state_home.mkdir(parents=True, exist_ok=True)
    (state_home / "STOP").write_text("stop\n")
    stopped = apply_cli(plan)
    assert record_of(tmp_path / "run.json")["status"] == "stopped", stopped.stderr
    (state_home / "STOP").unlink()
    usdc = next(t.address for t in chain.tokens if t.symbol == "USDC")
    keep = 10 * 10**6
    amount = onchain.balance(usdc) - keep
    onchain.send_from(WALLET, usdc, "0xa9059cbb" + "00" * 12 + "70997970c51812dc3a010c7d01b50e0d17dc79c8" + hex(amount)[2:].rjust(64, "0"))
    rerun = apply_cli(plan)
    assert rerun.code == 2 and "plan is stale: USDC balance" in rerun.stderr, rerun.stderr
    assert onchain.nonce() == start.nonce + 1  # only the drift transfer: nothing of the plan was sent


def test_stop_after_a_step_then_drift_refuses_the_rest_by_preflight(compile_plan: Any, onchain: Any, chain: Any, devnet: Any,
                                                                    tmp_path: Path, state_home: Path, monkeypatch: Any) -> None:
    from mammon import clock
    from mammon.errors import StalePlanError
    from mammon.plan.planfile import load
    from mammon.run.engine import ApplyOptions, apply_plan
    from mammon.run.rpc import RpcRunner
    from mammon.run.state import set_stop, state_dir

    monkeypatch.setenv("MAMMON_PRIVATE_KEY", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    plan_path = compile_plan(THREE)
    plan = load(plan_path)
    start = checks.before(onchain, plan_path)
    directory = state_dir(state_home)

    def stop_after_first(message: str) -> None:
        if message.startswith("ok"):
            set_stop(directory)

    opts = ApplyOptions(record_path=tmp_path / "run.json", state_dir=directory, chain=chain, now=clock.now, progress=stop_after_first)
    rec = apply_plan(plan, RpcRunner.create(plan, rpc_url=devnet.rpc_url), opts)
    assert rec.status == "stopped" and [s.status for s in rec.steps] == ["ok", "not_run", "not_run"]
    (directory / "STOP").unlink()
    # drift: the wallet's USDC leaves, so the deposit of the withdrawn USDC can no longer succeed
    usdc = next(t.address for t in chain.tokens if t.symbol == "USDC")
    amount = onchain.balance(usdc)
    onchain.send_from(WALLET, usdc, "0xa9059cbb" + "00" * 12 + "70997970c51812dc3a010c7d01b50e0d17dc79c8" + hex(amount)[2:].rjust(64, "0"))
    opts.progress = lambda _m: None
    with pytest.raises(StalePlanError, match="the remaining steps") as exc:
        apply_plan(plan, RpcRunner.create(plan, rpc_url=devnet.rpc_url), opts)
    assert "the run record keeps the finished steps" in exc.value.message
    assert onchain.nonce() == start.nonce + 2  # step 1 and the drift transfer, nothing more


def test_spend_is_counted_once_after_a_crash_between_log_and_journal(compile_plan: Any, apply_cli: Any, onchain: Any,
                                                                      state_home: Path) -> None:
    """Defect 9: the spend lives in the same audit entry as the step's outcome, counted once per transaction."""
    from datetime import UTC, datetime

    plan = compile_plan("wallet-to-aave")  # approve, deposit 2,000 USDC
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_outcome:2"}).killed
    assert apply_cli(plan).code == 0
    done = [e for e in audit.entries(state_home) if e.data["event"] == "step_done" and e.data["step"] == "deposit"]
    assert len(done) == 2  # logged by the killed run and again by the rerun
    assert audit.spent_since(state_home, datetime(2025, 1, 1, tzinfo=UTC)) == {"USDC": 2000 * 10**6}


def _forks_of(url: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--fork-url" in cmd and url.encode() in cmd:
                pids.append(int(entry.name))
    return pids


def test_kill_9_during_preflight_takes_the_fork_down(compile_plan: Any, apply_cli: Any, devnet: Any, onchain: Any) -> None:
    """Defect 8: the fork anvil dies with its parent."""
    plan = compile_plan(THREE)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "preflight:1"}).killed
    deadline = time.monotonic() + 5
    while _forks_of(devnet.rpc_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _forks_of(devnet.rpc_url) == []


def test_two_applies_from_two_working_directories(compile_plan: Any, apply_cli: Any, onchain: Any, tmp_path: Path, devnet: Any) -> None:
    """Defect 7: the per-user state directory (no MAMMON_STATE_DIR) holds one lock per chain+wallet, so the
    second apply is refused whatever its working directory; each writes its own record."""
    import subprocess
    import sys

    plan = compile_plan("moonwell-to-aave")
    start = checks.before(onchain, plan)
    home = tmp_path / "home"
    procs = []
    for name in ("a", "b"):
        cwd = tmp_path / name
        cwd.mkdir()
        (cwd / "plan.yaml").write_bytes(plan.read_bytes())
        env = {k: v for k, v in os.environ.items() if k not in ("MAMMON_STATE_DIR", "XDG_STATE_HOME")}
        env.update({"HOME": str(home), "MAMMON_PRIVATE_KEY": "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"})
        argv = [sys.executable, "-m", "mammon.cli", "apply", "plan.yaml", "--runner", "rpc", "--yes", "--quiet",
                "--rpc-url", devnet.rpc_url, "--chain-config", str(devnet.chain_config)]
        procs.append(subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [(p.wait(180), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "is being applied by process" in refused or "was already applied" in refused, refused
    assert "Traceback" not in refused
    assert (home / ".local" / "state" / "mammon" / "audit.jsonl").exists()
    checks.right_state(onchain, plan, start)
