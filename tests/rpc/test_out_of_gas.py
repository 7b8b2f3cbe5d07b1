"""Gas you can trust without a node estimate (issue #8, cause 4).

When the node cannot estimate (an RPC error that is not a revert) the gas limit falls back to the plan's
estimate × 1.2. A transaction that then runs out of gas is reported as such (gasUsed == gasLimit), never as
"reverted without a reason"; and the static figures' fallback covers the gas really used on the devnet's
live-rate market (borrowers, elapsed time), so a step with a static estimate does not run out.
"""

from __future__ import annotations

from typing import Any

import pytest

from mammon.node import NodeError
from mammon.recommend import Recommendation
from mammon.run.rpc import RpcRunner, with_margin

WALLET_TO_AAVE = Recommendation(to_protocol="aave_v3", token="USDC", amount="1000")


def no_estimates(runner: RpcRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node answers eth_estimateGas with an error that is not a revert (a rate limit), everything else normally."""
    real = runner.node.request

    def request(method: str, params: list[Any] | None = None) -> Any:
        if method == "eth_estimateGas":
            raise NodeError(method, -32005, "rate limit exceeded", None)
        return real(method, params)

    real_batch = runner.node.batch

    def batch(calls: list[tuple[str, list[Any]]]) -> list[Any]:  # the runner reads nonce, estimate and fees in one batch
        answers = real_batch(calls)
        return [NodeError(m, -32005, "rate limit exceeded", None) if m == "eth_estimateGas" else a for (m, _), a in zip(calls, answers)]

    monkeypatch.setattr(runner.node, "request", request)
    monkeypatch.setattr(runner.node, "batch", batch)


def test_an_out_of_gas_receipt_is_reported_as_such(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any, key0: str, w3: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    plan = compile_on_devnet(WALLET_TO_AAVE)
    # a too-low figure recorded the way apply accepts it (as if measured on a node), since apply recompiles the plan
    from mammon.compile.node_gas import with_node_gas
    from mammon.plan.model import NodeGas

    plan = with_node_gas(plan, NodeGas(block=0, measured={"deposit": 60_000}, failed={s.id: "not measured" for s in plan.steps if s.id != "deposit"}))
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    no_estimates(runner, monkeypatch)
    record = apply_rpc(plan, runner).record
    step = record.step("deposit")
    assert step.status == "reverted"
    limit = with_margin(60_000)  # 72,000; a call inside ran out and each frame above reverted with the 1/64 it kept back (EIP-150)
    assert limit * 9 // 10 <= step.gas_used < limit
    assert step.reason == f"ran out of gas: used {step.gas_used:,} of its 72,000 gas limit (the plan's estimate × 1.2: the node gave no estimate)"


def test_static_estimates_cover_the_live_market_without_a_node_estimate(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any,
                                                                        key0: str, w3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = compile_on_devnet([Recommendation(from_protocol="aave_v3", to_protocol="moonwell", token="USDC", amount="100"), WALLET_TO_AAVE])
    assert {s.gas.source for s in plan.steps} == {"static"}
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    no_estimates(runner, monkeypatch)
    record = apply_rpc(plan, runner).record
    assert record.status == "ok", [(s.id, s.reason) for s in record.steps]
    for step in record.steps:
        assert runner.gas_limits[step.tx_hash][1] == "plan"
