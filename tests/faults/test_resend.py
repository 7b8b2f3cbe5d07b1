"""A step is never sent twice because a node answered "not found": a mined transaction whose nonce user a lagging
node cannot show stays `sent` (rerun later), a wallet's "speed up" of mammon's pending transaction (same call, more
fee) is that step's transaction, and the node's "already known" for bytes just sent means it holds them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

import checks
from chainview import KEY0, WALLET, Chain, record_of
from mammon.run.node_runner import decoded_call
from proxy import FaultProxy

THREE = "moonwell-to-aave"  # withdraw, approve, deposit


@pytest.fixture()
def mining(onchain: Chain) -> Iterator[Chain]:
    """The devnet, its automine and interval mining put back afterwards (evm_revert does not restore them)."""
    try:
        yield onchain
    finally:
        onchain("evm_setIntervalMining", 0)
        onchain("evm_setAutomine", True)


@pytest.fixture()
def no_fee_ceiling(onchain: Chain, tmp_path: Path) -> Iterator[Path]:
    """A policy whose fee ceiling ([policy] max_fee_multiple) is out of the way of a base-fee spike, and the devnet's
    next-block base fee put back afterwards (anvil_setNextBlockBaseFeePerGas outlives evm_revert)."""
    normal = int(onchain("eth_feeHistory", "0x1", "latest", [])["baseFeePerGas"][-1], 16)
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy]\nmax_fee_multiple = 1000\n")
    yield policy
    onchain("anvil_setNextBlockBaseFeePerGas", hex(normal))


def _pooled(chain: Chain) -> list[dict[str, Any]]:
    pool = chain("txpool_content")["pending"]
    return [tx for sender, by in pool.items() if sender.lower() == WALLET.lower() for tx in by.values()]


def _speed_up(chain: Chain, tx: dict[str, Any]) -> str:
    """What a wallet UI's "speed up" does: the same nonce, to, data and value, signed again with twice the fees."""
    signed = Account.sign_transaction({
        "type": 2, "chainId": int(tx["chainId"], 16), "nonce": int(tx["nonce"], 16), "to": to_checksum_address(tx["to"]),
        "value": int(tx["value"], 16), "data": tx["input"], "gas": int(tx["gas"], 16),
        "maxFeePerGas": 2 * int(tx["maxFeePerGas"], 16), "maxPriorityFeePerGas": 2 * int(tx["maxPriorityFeePerGas"], 16)}, KEY0)
    return str(chain("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex()))


def test_a_mined_step_whose_nonce_user_a_lagging_node_cannot_show_stays_sent(compile_plan: Any, apply_cli: Any, onchain: Chain,
                                                                             devnet: Any, tmp_path: Path) -> None:
    """Finding 1: no receipt, no transaction, no blocks (a backend a block behind) is not "another transaction took the nonce"."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_broadcast:1"}).killed  # the withdraw is mined
    first = record_of(tmp_path / "run.json")["steps"][0]
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_getTransactionReceipt", "null", 1)
        proxy.fail("eth_getTransactionByHash", "null", 1)
        proxy.fail("eth_getBlockByNumber", "null", 1000)
        lagging = apply_cli(plan, url=proxy.url)
    assert lagging.code == 2 and len(lagging.stderr.splitlines()) == 1, lagging.stderr
    assert lagging.stderr.startswith(f"error: rpc: nonce {first['nonce']} of {WALLET} was used, but the node shows neither "
                                     f"{first['tx_hash']} nor another transaction with that nonce"), lagging.stderr
    assert "the step stays 'sent': rerun" in lagging.stderr
    record = record_of(tmp_path / "run.json")
    assert record["status"] == "interrupted" and [s["status"] for s in record["steps"]] == ["sent", "pending", "pending"]
    assert record["steps"][0]["tx_hash"] == first["tx_hash"] and record["steps"][0]["replaced"] == []
    assert onchain.nonce() == start.nonce + 1  # nothing signed again
    fixed = apply_cli(plan)
    assert fixed.code == 0, fixed.stderr
    record = record_of(tmp_path / "run.json")
    assert record["steps"][0]["tx_hash"] == first["tx_hash"] and record["steps"][0]["replaced"] == []
    checks.right_state(onchain, plan, start, record)


def test_a_sped_up_step_found_by_the_rerun_is_adopted(compile_plan: Any, apply_cli: Any, mining: Chain, tmp_path: Path) -> None:
    """Finding 9 (rerun): the wallet owner sped up mammon's pending withdraw after a crash; the rerun takes its receipt."""
    plan = compile_plan(THREE)
    start = checks.before(mining, plan)
    mining("evm_setAutomine", False)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_broadcast:1"}).killed  # the withdraw waits in the pool
    first = record_of(tmp_path / "run.json")["steps"][0]
    (pooled,) = _pooled(mining)
    assert pooled["hash"] == first["tx_hash"]
    faster = _speed_up(mining, pooled)
    mining("evm_mine")
    mining("evm_setAutomine", True)
    rerun = apply_cli(plan)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    withdraw = record["steps"][0]
    assert withdraw["tx_hash"] == faster and withdraw["replaced"] == [first["tx_hash"]] and withdraw["nonce"] == first["nonce"]
    assert withdraw["outputs"] and withdraw["gas_used"] > 21_000 and withdraw.get("raw_tx") is None
    checks.right_state(mining, plan, start, record)  # three transactions for three steps


@pytest.mark.parametrize("pooled_for", [0.0, 2.5], ids=["mined-at-once", "pooled-past-the-rebroadcast"])
def test_a_step_sped_up_while_mammon_waits_is_adopted(compile_plan: Any, apply_cli: Any, mining: Chain, tmp_path: Path,
                                                      pooled_for: float) -> None:
    """Finding 9 (live): a second process speeds up the pending withdraw while the apply waits for its receipt. Mined at
    once, mammon follows it; left in the pool 2.5 s (mammon looks for its transaction after 1 s without a receipt), the
    rebroadcast of mammon's own bytes gets "replacement transaction underpriced" for its step's call, and mammon follows
    the pending replacement and takes its receipt."""
    plan = compile_plan(THREE)
    start = checks.before(mining, plan)
    mining("evm_setAutomine", False)
    faster: list[tuple[str, str]] = []

    def owner() -> None:  # its own connection: the test's Chain is not shared across threads
        chain = Chain(mining.node.url)
        deadline = time.monotonic() + 120
        while not faster and time.monotonic() < deadline:
            pooled = _pooled(chain)
            if pooled:
                faster.append((pooled[0]["hash"], _speed_up(chain, pooled[0])))
                time.sleep(pooled_for)
                chain("evm_mine")
                chain("evm_setAutomine", True)
            time.sleep(0.05)
        chain.node.close()

    thread = threading.Thread(target=owner, daemon=True)
    thread.start()
    result = apply_cli(plan)
    thread.join(5)
    assert result.code == 0, result.stderr
    (mammons, wallets), = faster
    withdraw = record_of(tmp_path / "run.json")["steps"][0]
    assert withdraw["tx_hash"] == wallets and withdraw["replaced"] == [mammons]
    checks.right_state(mining, plan, start, record_of(tmp_path / "run.json"))


def test_already_known_for_its_own_pending_transaction_is_no_foreign_holder(compile_plan: Any, apply_cli: Any, mining: Chain,
                                                                           devnet: Any, tmp_path: Path) -> None:
    """Finding 2: a provider that does not return pooled transactions; blocks every 2 s, so each step is pending a while."""
    plan = compile_plan(THREE)
    start = checks.before(mining, plan)
    mining("evm_setAutomine", False)
    mining("evm_setIntervalMining", 2)
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_getTransactionByHash", "null", 100_000)
        result = apply_cli(plan, url=proxy.url)
    assert result.code == 0, result.stderr
    checks.right_state(mining, plan, start, record_of(tmp_path / "run.json"))


def test_a_rerun_replays_the_journaled_call_on_a_node_without_transaction_lookups(compile_plan: Any, apply_cli: Any, onchain: Chain,
                                                                                 devnet: Any, tmp_path: Path) -> None:
    """Finding 2 (rerun): the return data of a step mined before the crash comes from the journaled call."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_broadcast:1"}).killed
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_getTransactionByHash", "32601", 100_000)
        rerun = apply_cli(plan, url=proxy.url)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    assert record["steps"][0]["return_data"] == "0x" + "00" * 32  # Moonwell's redeemUnderlying: 0 = no error
    checks.right_state(onchain, plan, start, record)


def test_a_fee_below_a_spiked_base_fee_is_signed_again_at_the_same_nonce(compile_plan: Any, apply_cli: Any, onchain: Chain,
                                                                         tmp_path: Path, no_fee_ceiling: Path) -> None:
    """Finding 3: the journaled bytes pay less than the base fee now; the rerun signs the call again, same nonce, current fees."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_journaled:1"}).killed  # signed and journaled, never sent
    first = record_of(tmp_path / "run.json")["steps"][0]
    onchain("anvil_setNextBlockBaseFeePerGas", hex(4 * decoded_call(first["raw_tx"])["fees"][0]))  # far above the journaled fee cap
    rerun = apply_cli(plan, "--policy", no_fee_ceiling)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    withdraw = record["steps"][0]
    assert withdraw["replaced"] == [first["tx_hash"]] and withdraw["tx_hash"] != first["tx_hash"] and withdraw["nonce"] == first["nonce"]
    assert onchain("eth_getTransactionByHash", first["tx_hash"]) is None
    checks.right_state(onchain, plan, start, record)


def test_transaction_underpriced_is_signed_again_with_higher_fees(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any,
                                                                  tmp_path: Path) -> None:
    """Finding 3 (geth): "transaction underpriced" is this transaction's fee, not a foreign transaction holding the nonce."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_sendRawTransaction", "underpriced", 1)
        result = apply_cli(plan, url=proxy.url)
    assert result.code == 0, result.stderr
    record = record_of(tmp_path / "run.json")
    (refused,) = record["steps"][0]["replaced"]
    mined = onchain("eth_getTransactionByHash", record["steps"][0]["tx_hash"])
    assert refused != mined["hash"] and onchain("eth_getTransactionByHash", refused) is None
    checks.right_state(onchain, plan, start, record)


def test_a_fee_refused_twice_leaves_the_step_sent(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any, tmp_path: Path) -> None:
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_sendRawTransaction", "underpriced", 2)
        refused = apply_cli(plan, url=proxy.url)
    assert refused.code == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    first = record_of(tmp_path / "run.json")["steps"][0]
    assert refused.stderr.startswith(f"error: rpc broadcast: the node refused {first['tx_hash']} for its fee (transaction underpriced) "
                                     f"and the same call signed again at nonce {start.nonce} with the current fees was refused too"), refused.stderr
    assert first["status"] == "sent" and onchain.nonce() == start.nonce  # nothing on the chain
    rerun = apply_cli(plan)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    assert record["steps"][0]["tx_hash"] == first["tx_hash"] and record["steps"][0]["replaced"] == []  # the journaled bytes, as they were
    checks.right_state(onchain, plan, start, record)


def test_a_step_mined_long_before_the_rerun_is_found_by_its_nonce(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any,
                                                                 tmp_path: Path) -> None:
    """Finding 1 (window): 300 blocks after the crash the block that used the nonce is found by bisection, not a 256-block scan."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    assert apply_cli(plan, env={"MAMMON_TEST_KILL_AT": "step_broadcast:1"}).killed
    first = record_of(tmp_path / "run.json")["steps"][0]
    onchain("anvil_mine", hex(300))
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_getTransactionReceipt", "null", 1)  # the first lookup misses (a lagging backend)
        proxy.fail("eth_getTransactionByHash", "null", 1)
        rerun = apply_cli(plan, url=proxy.url)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    assert record["steps"][0]["tx_hash"] == first["tx_hash"] and record["steps"][0]["replaced"] == []
    checks.mined_once_per_step(onchain, plan, start, record)  # balances: an hour of interest accrued on the wallet's positions


def test_a_crash_after_a_fee_re_sign_is_settled_by_the_nonce(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any,
                                                            tmp_path: Path) -> None:
    """The re-signed hash is not journaled before it leaves; after a kill -9 the rerun finds it by its nonce and call."""
    plan = compile_plan(THREE)
    start = checks.before(onchain, plan)
    with FaultProxy(devnet.rpc_url) as proxy:
        proxy.fail("eth_sendRawTransaction", "underpriced", 1)
        assert apply_cli(plan, url=proxy.url, env={"MAMMON_TEST_KILL_AT": "receipt_wait:1"}).killed  # the re-signed one is mined
    journaled = record_of(tmp_path / "run.json")["steps"][0]
    assert journaled["status"] == "sent" and onchain.nonce() == start.nonce + 1
    rerun = apply_cli(plan)
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    withdraw = record["steps"][0]
    assert withdraw["replaced"] == [journaled["tx_hash"]] and withdraw["tx_hash"] != journaled["tx_hash"]
    checks.right_state(onchain, plan, start, record)


def test_a_base_fee_spike_while_a_step_is_pooled_is_signed_again(compile_plan: Any, apply_cli: Any, mining: Chain, tmp_path: Path,
                                                                  no_fee_ceiling: Path) -> None:
    """Finding 3 (live): the base fee jumps past the pooled withdraw's fee cap; anvil evicts it, mammon's rebroadcast is
    refused for its fee, and the same call goes out again at the same nonce with the current fees."""
    plan = compile_plan(THREE)
    start = checks.before(mining, plan)
    mining("evm_setAutomine", False)
    spiked: list[str] = []
    spikes: list[int] = []

    def spike() -> None:
        chain = Chain(mining.node.url)
        deadline = time.monotonic() + 120
        while not spiked and time.monotonic() < deadline:
            pooled = _pooled(chain)
            if pooled:
                spiked.append(pooled[0]["hash"])
                spikes.append(4 * int(pooled[0]["maxFeePerGas"], 16))  # anvil's base fee outlives evm_revert: relative
                chain("anvil_setNextBlockBaseFeePerGas", hex(spikes[0]))
                chain("evm_mine")  # a block the withdraw cannot pay for
                chain("evm_setAutomine", True)
            time.sleep(0.05)
        chain.node.close()

    thread = threading.Thread(target=spike, daemon=True)
    thread.start()
    result = apply_cli(plan, "--policy", no_fee_ceiling)
    thread.join(5)
    assert result.code == 0, result.stderr
    record = record_of(tmp_path / "run.json")
    withdraw = record["steps"][0]
    assert withdraw["replaced"] == spiked and withdraw["tx_hash"] != spiked[0]
    assert int(mining("eth_getTransactionByHash", withdraw["tx_hash"])["maxFeePerGas"], 16) > spikes[0]
    checks.right_state(mining, plan, start, record)


def test_a_pooled_transaction_priced_out_by_the_base_fee_is_replaced(compile_plan: Any, mining: Chain, devnet: Any,
                                                                     monkeypatch: Any) -> None:
    """Finding 3 (geth): the node keeps a transaction whose fee cap the base fee passed pending forever; after a few
    seconds the same call is signed again at its nonce with the current fees, and its receipt is the outcome."""
    from mammon.plan.planfile import load
    from mammon.run.rpc import RpcRunner

    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    plan = load(compile_plan(THREE))
    step = plan.steps[0]
    nonce = mining.nonce()
    with FaultProxy(devnet.rpc_url) as proxy:
        runner = RpcRunner.create(plan, rpc_url=proxy.url, receipt_timeout=30)
        try:
            mining("evm_setAutomine", False)
            signed = runner.sign(step.id, step.call, gas_estimate=step.gas.estimate)
            runner.broadcast(signed)
            spike = 4 * int(mining("eth_getTransactionByHash", signed.tx_hash)["maxFeePerGas"], 16)
            mining("anvil_setNextBlockBaseFeePerGas", hex(spike))
            mining("evm_mine")  # the withdraw cannot pay for this block (anvil drops it from its pool; geth would keep it)
            mining("evm_setAutomine", True)
            proxy.fail("eth_getTransactionByHash", "pending", 100_000)  # the node says it still has it, pending
            t0 = time.monotonic()
            outcome = runner.wait(signed.tx_hash)
        finally:
            runner.close()
    assert time.monotonic() - t0 < 15  # not the receipt timeout
    assert outcome.status == "ok" and outcome.tx_hash != signed.tx_hash
    mined = mining("eth_getTransactionByHash", outcome.tx_hash)
    assert int(mined["nonce"], 16) == nonce == signed.nonce and mining.nonce() == nonce + 1
    assert mined["input"] == step.call.data.lower() and int(mined["maxFeePerGas"], 16) > spike


def test_a_fee_re_sign_beyond_the_policy_ceiling_is_not_signed(compile_plan: Any, apply_cli: Any, onchain: Chain, devnet: Any,
                                                               tmp_path: Path) -> None:
    """A refused fee is signed again only within [policy] max_fee_multiple: when outbidding the refused transaction
    (at the ceiling already) needs more than the ceiling allows, nothing more is signed and the step stays `sent`;
    the rerun, fees back to normal, sends the journaled bytes and the run ends with one transaction per step."""
    from mammon.plan.planfile import load

    path = compile_plan(THREE)
    start = checks.before(onchain, path)
    reviewed = load(path).market.gas_price_gwei * 10**9
    spike = 100 * 10**9  # the next base fee: the ceiling, 150 gwei + a little, lies between base + tip and 2 x base + tip
    (tmp_path / "policy.toml").write_text(f"[policy]\nmax_fee_multiple = {150 * 10**9 / float(reviewed):.6f}\n")
    normal = int(onchain("eth_feeHistory", "0x1", "latest", [])["baseFeePerGas"][-1], 16)
    try:
        onchain("anvil_setNextBlockBaseFeePerGas", hex(spike))
        with FaultProxy(devnet.rpc_url) as proxy:
            proxy.fail("eth_sendRawTransaction", "underpriced", 1)
            refused = apply_cli(path, "--policy", tmp_path / "policy.toml", url=proxy.url)
    finally:
        onchain("anvil_setNextBlockBaseFeePerGas", hex(normal))
    assert refused.code == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    first = record_of(tmp_path / "run.json")["steps"][0]
    assert refused.stderr.startswith(f"error: max_fee_multiple: replacing {first['tx_hash']} at nonce {start.nonce} needs "), refused.stderr
    assert "above the policy's ceiling" in refused.stderr and "nothing was signed" in refused.stderr
    assert first["status"] == "sent" and onchain.nonce() == start.nonce  # nothing on the chain
    rerun = apply_cli(path, "--policy", tmp_path / "policy.toml")
    assert rerun.code == 0, rerun.stderr
    record = record_of(tmp_path / "run.json")
    assert record["steps"][0]["tx_hash"] == first["tx_hash"]  # the journaled bytes, as they were
    checks.right_state(onchain, path, start, record)
