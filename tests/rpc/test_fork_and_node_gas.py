"""The fork dry-run (`apply --fork-url`) and gas measured on the node (`estimate_on_node`), both on a fork of the devnet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mammon.compile.node_gas import estimate_on_node
from mammon.diff import diff
from mammon.plan.planfile import content_hash, dump
from mammon.recommend import Recommendation
from mammon.run import record as journal
from mammon.run.engine import dry_run
from mammon.run.fork import Fork, ForkRunner
from mammon.run.rpc import RpcRunner
from rpchelp import WALLET, nonce

MOONWELL_USDC_TO_AAVE_WETH = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", to_token="WETH", amount="3000")


def balances(w3: Any, chain: Any) -> dict[str, int]:
    from mammon.abi import function

    tokens = {t.symbol: t.address for t in chain.tokens}
    tokens.update({f"a{s}": a for s, a in chain.protocols["aave_v3"]["a_tokens"].items()})
    tokens.update({f"m{s}": a for s, a in chain.protocols["moonwell"]["markets"].items()})
    call = function("erc20/ERC20", "balanceOf")
    return {s: int.from_bytes(w3.eth.call({"to": a, "data": call.encode({"account": WALLET})})[:32], "big") for s, a in tokens.items()}


def test_fork_dry_run_applies_and_touches_nothing_real(rpc_devnet: Any, chain: Any, compile_on_devnet: Any, mammon: Any,
                                                       w3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAMMON_PRIVATE_KEY", raising=False)  # no key needed: the wallet is impersonated on the fork
    plan = compile_on_devnet(MOONWELL_USDC_TO_AAVE_WETH)
    dump(plan, tmp_path / "plan.yaml")
    before = (nonce(w3), w3.eth.block_number, balances(w3, chain))
    run = mammon("apply", tmp_path / "plan.yaml", "--runner", "rpc", "--fork-url", rpc_devnet.rpc_url, "--yes",
                 "-o", tmp_path / "run.json", "--state-dir", tmp_path / "state", "--chain-config", rpc_devnet.chain_config)
    assert "result: all effects within tolerance" in run.stdout
    record = journal.load(tmp_path / "run.json")
    assert record.runner == "fork" and record.status == "ok" and all(s.simulated for s in record.steps)
    assert diff(plan, record).ok
    assert (nonce(w3), w3.eth.block_number, balances(w3, chain)) == before  # the devnet itself is untouched
    for step in record.steps:
        assert w3.provider.make_request("eth_getTransactionByHash", [step.tx_hash])["result"] is None


def test_fork_runner_stops_its_anvil(rpc_devnet: Any, compile_on_devnet: Any, w3: Any) -> None:
    plan = compile_on_devnet(MOONWELL_USDC_TO_AAVE_WETH)
    runner = RpcRunner.create(plan, fork_url=rpc_devnet.rpc_url)
    assert isinstance(runner, ForkRunner) and runner.account() == WALLET and runner.chain_id() == 31337
    proc = runner.fork._proc
    assert proc is not None and proc.poll() is None
    runner.close()
    assert proc.poll() is not None


def test_simulation_resolves_references_and_reports_outputs(rpc_devnet: Any, compile_on_devnet: Any, w3: Any) -> None:
    plan = compile_on_devnet(MOONWELL_USDC_TO_AAVE_WETH)
    with Fork(rpc_devnet.rpc_url) as fork:
        fork.impersonate(WALLET)
        record = dry_run(plan, ForkRunner(plan, fork, confirmations=1))
    assert [s.status for s in record.steps] == ["ok"] * len(plan.steps)
    swap = record.step("swap")
    assert swap.outputs and all(v > 0 for v in swap.outputs.values())
    deposit = record.step("deposit")
    assert deposit.data is not None and deposit.data != plan.step("deposit").call.data  # amount re-encoded from the swap's output


def test_estimate_on_node_marks_every_step_and_matches_the_chain(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any,
                                                                 key0: str, w3: Any) -> None:
    plan = compile_on_devnet(MOONWELL_USDC_TO_AAVE_WETH)
    start = nonce(w3)
    measured = estimate_on_node(plan, rpc_devnet.rpc_url)
    assert nonce(w3) == start  # estimating sends nothing to the node
    assert {s.gas.source for s in plan.steps} == {"static"} and {s.gas.source for s in measured.steps} == {"node"}
    assert measured.content_hash == content_hash(measured) != plan.content_hash
    assert measured.totals.gas == sum(s.gas.estimate for s in measured.steps)
    assert float(measured.totals.cost_eth) * plan.totals.gas == pytest.approx(float(plan.totals.cost_eth) * measured.totals.gas, rel=1e-6)
    assert [s.call for s in measured.steps] == [s.call for s in plan.steps]  # only the gas changed
    applied = apply_rpc(measured)
    assert applied.record.status == "ok"
    for step, ran in zip(measured.steps, applied.record.steps, strict=True):
        # same state, same block times (12 s each): the node's figure is exactly what the chain then charges
        assert ran.gas_used == step.gas.estimate, step.id


def test_estimate_on_node_refuses_another_chain(rpc_devnet: Any, compile_on_devnet: Any, w3: Any) -> None:
    from mammon.errors import InputError
    from mammon.plan.model import ChainRef
    from mammon.plan.planfile import seal

    plan = compile_on_devnet(MOONWELL_USDC_TO_AAVE_WETH)
    other = seal(plan.model_copy(update={"chain": ChainRef(id=8453, name="base")}))
    with pytest.raises(InputError, match=r"is chain 31337, the plan is for base \(8453\)"):
        estimate_on_node(other, rpc_devnet.rpc_url)
