"""Another sender takes the wallet's nonce: a journaled step that can never be mined is marked `dropped`
with the conflicting hash and the rerun signs it again (after re-checking the plan); a replaced
transaction is noticed at once, not after the receipt timeout; "replacement underpriced" says what it is."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

import checks
from chainview import ACCOUNT1, KEY0, WALLET, Chain, record_of
from mammon.plan.model import Call
from mammon.plan.planfile import load
from mammon.run.base import NonceHeld, TxDropped
from mammon.run.rpc import NonceMovedError, RpcRunner


def _thief(chain: Chain, nonce: int, tip: int = 5 * 10**9) -> str:
    """The same key used elsewhere: a transfer with `nonce` (signed, so it can replace a pooled one)."""
    signed = Account.from_key(KEY0).sign_transaction({
        "type": 2, "chainId": 31337, "nonce": nonce, "to": ACCOUNT1, "value": 7, "gas": 21_000,
        "maxFeePerGas": 10**12, "maxPriorityFeePerGas": tip})
    return str(chain("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()))


def test_a_stolen_nonce_is_dropped_and_the_rerun_signs_again(compile_plan: Any, apply_cli: Any, onchain: Chain, tmp_path: Path) -> None:
    plan = compile_plan("moonwell-to-aave")
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_journaled:2"}).killed  # step 2 signed with nonce N+1, never sent
    journaled = record_of(tmp_path / "run.json")["steps"][1]
    thief = _thief(onchain, journaled["nonce"])
    rerun = apply_cli(plan)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    step = record["steps"][1]
    assert step["replaced"] == [journaled["tx_hash"]] and step["conflict_tx"] == thief
    assert step["tx_hash"] != journaled["tx_hash"] and step["nonce"] == journaled["nonce"] + 1
    checks.right_state(onchain, plan, start, record, others=1)


def test_a_replaced_transaction_is_noticed_at_once(compile_plan: Any, onchain: Chain, devnet: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    plan = load(compile_plan("moonwell-to-aave"))
    runner = RpcRunner.create(plan, rpc_url=devnet.rpc_url)
    runner.poll_max = 0.05
    onchain("evm_setAutomine", False)
    try:
        signed = runner.sign("x", Call(to=ACCOUNT1, value=1, data="0x"), gas_estimate=21_000)
        runner.broadcast(signed)
        thief = _thief(onchain, signed.nonce or 0, tip=50 * 10**9)  # same nonce, higher fee: replaces ours in the pool
        onchain("evm_mine")
        t0 = time.monotonic()
        with pytest.raises(TxDropped) as exc:
            runner.wait(signed.tx_hash)
    finally:
        onchain("evm_setAutomine", True)
    assert time.monotonic() - t0 < 10  # not the 300 s receipt timeout
    assert exc.value.conflict == thief
    assert str(exc.value) == f"rpc: {signed.tx_hash} can never be mined: nonce {signed.nonce} of the wallet was taken by transaction {thief}"


def test_replacement_underpriced_names_the_pending_holder(compile_plan: Any, onchain: Chain, devnet: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    plan = load(compile_plan("moonwell-to-aave"))
    runner = RpcRunner.create(plan, rpc_url=devnet.rpc_url)
    onchain("evm_setAutomine", False)
    try:
        signed = runner.sign("x", Call(to=ACCOUNT1, value=1, data="0x"), gas_estimate=21_000)
        _thief(onchain, signed.nonce or 0, tip=50 * 10**9)  # someone else's pending transaction, better paid
        with pytest.raises(NonceHeld, match=rf"a pending transaction that is not this apply's holds nonce {signed.nonce} of {WALLET} "
                                            r"\(replacement transaction underpriced\)"):
            runner.broadcast(signed)
    finally:
        onchain("evm_setAutomine", True)


def test_a_nonce_taken_before_signing_names_the_taker(compile_plan: Any, onchain: Chain, devnet: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    plan = load(compile_plan("moonwell-to-aave"))
    runner = RpcRunner.create(plan, rpc_url=devnet.rpc_url)
    nonce = onchain.nonce()
    thief = _thief(onchain, nonce)
    for _ in range(100):  # under load anvil may take a moment to mine it; the test is about a nonce already taken
        if onchain("eth_getTransactionReceipt", thief):
            break
        time.sleep(0.05)
    with pytest.raises(NonceMovedError) as exc:
        runner.sign("withdraw", plan.steps[0].call, gas_estimate=plan.steps[0].gas.estimate)
    assert f"(nonce {nonce} went to {thief})" in str(exc.value)
    assert onchain.nonce(tag="pending") == nonce + 1  # only the other sender's transaction (anvil may not have mined it yet)
