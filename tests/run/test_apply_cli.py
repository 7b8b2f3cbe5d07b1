"""`mammon apply`, `diff`, `stop` and `audit` from the command line: exit codes, one-line refusals, nothing run."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
import yaml

from mammon.market import DEFAULT_WORLD
from mammon.plan.planfile import load
from mammon.run.registry import runner_names
from mammon_test_support import EXAMPLES_DIR, WALLET, Mammon, plan_data, write_yaml


@pytest.fixture
def plan_file(mammon: Mammon, tmp_path: Path) -> Path:
    out = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "moonwell-to-aave.yaml", "--wallet", WALLET, "-o", out)
    return out


def _apply(mammon: Mammon, plan: Path, *args: object, code: int = 0):  # type: ignore[no-untyped-def]
    return mammon("apply", plan, "--state-dir", plan.parent / "state", *args, code=code)


def test_apply_prints_review_progress_and_diff(mammon: Mammon, plan_file: Path) -> None:
    run = _apply(mammon, plan_file)
    out = run.stdout
    assert out.index("Steps, in execution order") < out.index("send  withdraw") < out.index("diff for plan")
    assert out.rstrip().endswith("result: all effects within tolerance")
    record = plan_file.with_name("plan.sim.run.json")
    assert record.exists()
    again = mammon("diff", plan_file, record)
    assert again.stdout.rstrip().endswith("result: all effects within tolerance")
    assert '"ok": true' in mammon("diff", plan_file, record, "--format", "json").stdout


def test_a_diff_outside_tolerance_exits_1_and_a_failing_dry_run_2(mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    world = yaml.safe_load(DEFAULT_WORLD.read_text())
    world["venues"]["moonwell"]["markets"]["USDC"]["exchange_rate"] = str(10**14)  # mUSDC worth 0.01 USDC, not 0.0204
    line = mammon.refuses("apply", plan_file, "--world", write_yaml(tmp_path / "w0.yaml", world), "--state-dir", tmp_path / "s")
    assert line == ("plan: preconditions: plan is stale: USDC per mUSDC: plan assumes >= 0.0204 USDC per mUSDC, "
                    "chain has 0.01 USDC per mUSDC")
    world["venues"]["moonwell"]["markets"]["USDC"]["exchange_rate"] = str(4 * 10**14)  # doubled: more than interest explains
    line = mammon.refuses("apply", plan_file, "--world", write_yaml(tmp_path / "w1.yaml", world), "--state-dir", tmp_path / "s")
    assert line == ("plan: preconditions: plan is stale: USDC per mUSDC: plan assumes <= 0.0204000194063927 USDC per mUSDC, "
                    "chain has 0.04 USDC per mUSDC")
    # the rate the plan saw, growing 0.01% a second (not the plan's 5%/yr): by the redeem's block fewer mUSDC burn
    world["venues"]["moonwell"]["markets"]["USDC"].update(exchange_rate=str(204 * 10**12), supply_rate=str(10**14))
    run = mammon("apply", plan_file, "--world", write_yaml(tmp_path / "w1.yaml", world), "--state-dir", tmp_path / "s", code=1)
    assert "ok    deposit" in run.stdout, "every step succeeded"
    line = next(x for x in run.stdout.splitlines() if x.startswith("  ! wallet") and "mUSDC" in x)
    assert "expected     -49,019.60784313 mUSDC" in line and "actual     -49,009.80588196 mUSDC" in line, line
    assert run.stdout.rstrip().endswith("OUTSIDE TOLERANCE or steps not run")
    swap_plan = tmp_path / "swap.yaml"
    mammon("plan", EXAMPLES_DIR / "aave-weth-to-wallet-usdc.yaml", "--wallet", WALLET, "-o", swap_plan)
    world = yaml.safe_load(DEFAULT_WORLD.read_text())
    world["venues"]["uniswap_v3"]["pools"]["USDC/WETH"]["reserve_a"] = str(2_700_000 * 10**6)  # USDC 10% scarcer
    line = mammon.refuses("apply", swap_plan, "--world", write_yaml(tmp_path / "w2.yaml", world), "--state-dir", tmp_path / "s")
    assert line.startswith("preflight (the whole plan, tried on a copy of the current state): plan is stale: step swap reverts: ")


@pytest.mark.parametrize(("args", "message"), [
    (("--runner", "simm"), "--runner: unknown runner 'simm'; did you mean 'sim'?"),
    (("--world", "missing.yaml"), "missing.yaml: file not found"),
])
def test_bad_apply_options_are_refused(mammon: Mammon, plan_file: Path, args: tuple[str, ...], message: str) -> None:
    assert mammon.refuses("apply", plan_file, "--state-dir", plan_file.parent / "state", *args) == message
    assert not plan_file.with_name("plan.sim.run.json").exists()


def test_malformed_world_is_refused(mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "world.yaml"
    bad.write_text("prices_usd: {USDC: 1\n")
    assert mammon.refuses("apply", plan_file, "--world", bad).startswith(f"{bad}: malformed YAML at line 2")
    unknown = write_yaml(tmp_path / "w.yaml", {**yaml.safe_load(DEFAULT_WORLD.read_text()), "pricez": {}})
    assert mammon.refuses("apply", plan_file, "--world", unknown) == f"{unknown}: pricez: unknown field; did you mean 'prices_usd'?"


def test_tampered_expired_and_wrong_chain_plans_are_refused(mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    data = plan_data(load(plan_file))
    data["steps"][0]["call"]["data"] = data["steps"][0]["call"]["data"][:-1] + "1"
    tampered = write_yaml(tmp_path / "tampered.yaml", data)
    assert "content_hash mismatch" in mammon.refuses("apply", tampered)
    assert "valid_until" in mammon.refuses("apply", plan_file, env={"MAMMON_NOW": "2026-01-01T00:11:00Z"})
    chain = yaml.safe_load((Path(__file__).resolve().parents[2] / "mammon/chains/data/base.yaml").read_text())
    other = write_yaml(tmp_path / "chain.yaml", {**chain, "chain_id": 1})
    assert "is chain id 1, the plan is for 8453" in mammon.refuses("apply", plan_file, "--chain-config", other)
    assert not list(tmp_path.glob("*.run.json"))


def test_policy_breach_is_refused_naming_the_limit(mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\n[policy.max_spend_per_plan]\nUSDC = "999.99"\n')
    line = mammon.refuses("apply", plan_file, "--policy", policy, "--state-dir", tmp_path / "s")
    assert line == f"{policy}: [policy]: plan spends 1,000.00 USDC, above max_spend_per_plan 999.99 USDC"


def test_stop_flag_from_the_cli(mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert "stop flag set" in mammon("stop", "--state-dir", state).stdout
    run = _apply(mammon, plan_file, code=1)
    assert "STOP  emergency stop flag set: halted before withdraw" in run.stdout
    assert mammon("stop", "--clear", "--state-dir", state).stdout.strip() == "stop flag cleared"
    assert mammon("stop", "--clear", "--state-dir", state).stdout.strip() == "no stop flag was set"


def test_audit_verify_from_the_cli(mammon: Mammon, plan_file: Path, tmp_path: Path) -> None:
    _apply(mammon, plan_file)
    state = tmp_path / "state"
    assert mammon("audit", "verify", "--state-dir", state).stdout.startswith("ok: 8 entries")
    log = state / "audit.jsonl"
    log.write_text(log.read_text().replace('"ok"', '"reverted"', 1))
    run = mammon("audit", "verify", "--state-dir", state, code=1)
    assert "was edited" in run.stderr


THIRD_PARTY = '''
from mammon.run.sim import SimRunner

CALLS = []


class EchoRunner(SimRunner):
    """A third-party runner: the simulator, counting what it is asked to broadcast."""

    name = "echo"

    def broadcast(self, signed):
        CALLS.append(signed.tx_hash)
        super().broadcast(signed)
'''


def test_third_party_runner_registered_by_entry_point(mammon: Mammon, plan_file: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "echo_runner-0.1.dist-info").mkdir(parents=True)
    (site / "echo_runner.py").write_text(THIRD_PARTY)
    (site / "echo_runner-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-runner\nVersion: 0.1\n")
    (site / "echo_runner-0.1.dist-info" / "entry_points.txt").write_text("[mammon.runners]\necho = echo_runner:EchoRunner\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    assert "echo" in runner_names()
    run = _apply(mammon, plan_file, "--runner", "echo")
    assert run.stdout.rstrip().endswith("all effects within tolerance")
    record = json.loads(plan_file.with_name("plan.echo.run.json").read_text())
    sent = [s["tx_hash"] for s in record["steps"]]
    assert len(sent) == 3 and set(sent) <= set(sys.modules["echo_runner"].CALLS), "the third-party runner broadcast every step"
    assert plan_file.with_name("plan.echo.run.json").exists()
