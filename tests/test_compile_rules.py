"""Compile rules beyond the examples: combined plans share one position, chain configs name their file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mammon import Recommendation, compile_plan
from mammon.chains import DATA, load_chain_file
from mammon.errors import InputError
from mammon.run import state
from mammon.run.state import WalletLocked
from mammon_test_support import NOW, WALLET, Mammon, EXAMPLES_DIR


def test_a_combined_plan_withdraws_all_of_what_is_left(tmp_path: Path) -> None:
    recs = [Recommendation(from_protocol="aave_v3", token="USDC", amount="4000"),
            Recommendation(from_protocol="aave_v3", to_protocol="morpho", token="USDC", amount="all")]
    plan = compile_plan(recs, chain="base", wallet=WALLET, now=NOW)
    outs = {s.id: s.outputs["amount_out"].expected for s in plan.steps if "amount_out" in s.outputs}
    assert outs == {"r1-withdraw": 4000 * 10**6, "r2-withdraw": 1000 * 10**6}, "the default portfolio holds 5,000 USDC in Aave"


def test_a_second_exit_from_an_emptied_position_is_refused() -> None:
    recs = [Recommendation(from_protocol="moonwell", token="USDC", amount="all"),
            Recommendation(from_protocol="moonwell", token="USDC", amount="1")]
    with pytest.raises(InputError, match=r"recommendation\[1\]\.from_protocol: the Moonwell USDC position is empty"):
        compile_plan(recs, chain="base", wallet=WALLET, now=NOW)


def test_a_bad_protocol_section_names_the_chain_config_file(mammon: Mammon, tmp_path: Path) -> None:
    chain = yaml.safe_load((DATA / "base.yaml").read_text())
    chain["protocols"]["aave_v3"]["pool"] = "0xa238dd80c259a72e81d7e4664a9801593f98D1c5"  # mixed case, wrong checksum
    path = tmp_path / "mybase.yaml"
    path.write_text(yaml.safe_dump(chain))
    with pytest.raises(InputError, match="protocols.aave_v3: pool"):  # checked when the file is read, every section
        load_chain_file(path)
    line = mammon.refuses("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--chain-config", path, "--wallet", WALLET)
    assert line == (f"{path}: protocols.aave_v3: pool: 0xa238dd80c259a72e81d7e4664a9801593f98D1c5 has a bad EIP-55 checksum "
                    "(expected 0xA238Dd80C259a72e81d7e4664a9801593F98d1c5)")


def test_one_apply_per_wallet_at_a_time(mammon: Mammon, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "-o", plan)
    directory = state.state_dir(tmp_path / "state")
    with state.wallet_lock(directory, WALLET, 8453):
        line = mammon.refuses("apply", plan, "--state-dir", directory)
        assert line.startswith(f"apply: wallet {WALLET} on chain 8453 is being applied by process ")
        with pytest.raises(WalletLocked):
            with state.wallet_lock(directory, WALLET.lower(), 8453):
                pass
    mammon("apply", plan, "--state-dir", directory)  # the lock is released


AAVE_POOL = "0xA238Dd80C259a72e81d7e4664a9801593F98d1c5"


def test_an_allowance_that_already_suffices_leaves_the_approval_out(tmp_path: Path, mammon: Mammon) -> None:
    from mammon.market import DEFAULT_WORLD

    world = yaml.safe_load(DEFAULT_WORLD.read_text())
    world["portfolio"]["allowances"] = [{"token": "USDC", "spender": AAVE_POOL, "amount": "5000"}]
    market = tmp_path / "world.yaml"
    market.write_text(yaml.safe_dump(world))
    plan_path = tmp_path / "plan.yaml"
    mammon("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", WALLET, "--prices", market, "-o", plan_path)
    from mammon.plan.planfile import load

    plan = load(plan_path)
    assert [s.kind for s in plan.steps] == ["deposit"]
    [assumed] = [p for p in plan.preconditions if p.kind == "allowance"]
    assert (assumed.spender, assumed.op, assumed.value) == (AAVE_POOL, "gte", 2000 * 10**6)
    run = mammon("apply", plan_path, "--world", market, "--state-dir", tmp_path / "s")
    assert run.stdout.rstrip().endswith("all effects within tolerance")
    line = mammon.refuses("apply", plan_path, "--state-dir", tmp_path / "s2", "-o", tmp_path / "other.json")
    assert line == (f"plan: preconditions: plan is stale: USDC allowance for {AAVE_POOL}: plan assumes >= 2,000.00 USDC, "
                    "chain has 0.00 USDC")


def test_a_first_aave_supply_carries_the_first_supply_gas() -> None:
    """A supply into a reserve where the wallet has no position (its balance starts from zero and Aave sets the
    collateral bit) costs more than one next to a position: the static figure follows the wallet's holdings,
    and a supply after the plan's own withdraw-all is a first one again."""
    from mammon.compile.gas import static_gas
    from mammon.market import load_market

    world = load_market()
    assert world.portfolio is not None
    empty = world.model_copy(update={"portfolio": world.portfolio.model_copy(update={"positions": {"aave_v3": {"USDC": "0"}}})})
    supply = Recommendation(to_protocol="aave_v3", token="USDC", amount="100")
    gas = lambda plan: {s.id: s.gas.estimate for s in plan.steps}["deposit"]  # noqa: E731
    assert gas(compile_plan(supply, wallet=WALLET, now=NOW)) == static_gas("aave_v3", "deposit") == 149_000
    assert gas(compile_plan(supply, wallet=WALLET, market=empty, now=NOW)) == static_gas("aave_v3", "deposit_first") == 173_000
    exit_and_back = [Recommendation(from_protocol="aave_v3", token="USDC", amount="all"), supply]
    assert static_gas("aave_v3", "deposit_first") in {s.gas.estimate for s in compile_plan(exit_and_back, wallet=WALLET, now=NOW).steps}


def test_a_changed_static_gas_table_is_what_the_next_plan_carries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiler shares one Gas model per figure; a figure changed in STATIC_GAS is never served from that cache."""
    from mammon.compile.gas import STATIC_GAS

    supply = Recommendation(to_protocol="aave_v3", token="USDC", amount="100")
    gas = lambda: {s.id: s.gas.estimate for s in compile_plan(supply, wallet=WALLET, now=NOW).steps}["deposit"]  # noqa: E731
    assert gas() == 149_000
    monkeypatch.setitem(STATIC_GAS, ("aave_v3", "deposit"), 151_000)
    assert gas() == 151_000
