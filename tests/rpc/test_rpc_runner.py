"""The rpc runner's guarantees, proven on the devnet: crash recovery, refusals, revert reasons, fees, key hygiene."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account

from mammon.abi import decode_call, function
from mammon.diff import diff, render_text
from mammon.errors import InputError, PlanError, StalePlanError, WrongChainError
from mammon.plan.model import Call, ChainRef
from mammon.plan.planfile import seal
from mammon.recommend import Recommendation
from mammon.run import record as journal
from mammon.run.base import Signed
from mammon.run.keys import from_hex, from_keystore, load_signer
from mammon.node import NodeUnreachable, decode_revert, redact
from mammon.run.rpc import GAS_PRICE_ORACLE, NonceMovedError, RpcRunner, WouldRevertError, with_margin
from rpchelp import ACCOUNT1, KEY0, KEY1, WALLET, nonce, send

MOONWELL_TO_AAVE = Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")
AAVE_TO_WALLET = Recommendation(from_protocol="aave_v3", token="USDC", amount="100")
WALLET_TO_AERODROME = Recommendation(to_protocol="aerodrome", token="USDC", amount="1000")


def usdc(chain: Any) -> str:
    return next(t.address for t in chain.tokens if t.symbol == "USDC")


def erc20_call(name: str, **args: Any) -> str:
    return function("erc20/ERC20", name).encode(args)


# ----------------------------------------------------------------------------- crash recovery


class Crash(Exception):
    """Stands in for the process dying (kill -9, power loss) at a chosen instant."""


class CrashingRunner(RpcRunner):
    """Dies at the n-th broadcast, either before the bytes leave or right after the node took them."""

    crash_at = 2
    after_send = False

    def broadcast(self, signed: Signed) -> None:
        self.count = getattr(self, "count", 0) + 1
        if self.count == self.crash_at:
            if self.after_send:
                super().broadcast(signed)
            raise Crash(signed.tx_hash)
        super().broadcast(signed)


@pytest.mark.parametrize("after_send", [False, True], ids=["crash-before-broadcast", "crash-after-broadcast"])
def test_crash_then_rerun_never_sends_twice(after_send: bool, rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any,
                                             key0: str, w3: Any, tmp_path: Path) -> None:
    plan = compile_on_devnet(MOONWELL_TO_AAVE)  # withdraw, approve, deposit
    start = nonce(w3)
    record_path = tmp_path / "run.json"
    crashing = CrashingRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    crashing.after_send = after_send  # type: ignore[attr-defined]
    with pytest.raises(Crash) as crash:
        apply_rpc(plan, crashing, record=record_path)
    journaled = journal.load(record_path)
    second = journaled.steps[1]
    assert [s.status for s in journaled.steps] == ["ok", "sent", "pending"]
    assert second.tx_hash == str(crash.value) and second.raw_tx
    on_chain = w3.eth.get_transaction_count(WALLET, "pending")
    assert on_chain == start + (2 if after_send else 1)

    applied = apply_rpc(plan, record=record_path)  # the rerun: a fresh process reading the journal
    assert applied.record.status == "ok", render_text(diff(plan, applied.record))
    assert applied.record.steps[1].tx_hash == second.tx_hash  # looked up / rebroadcast, never re-signed
    assert nonce(w3) == start + len(plan.steps)  # exactly one transaction per step
    assert diff(plan, applied.record).ok


def test_rebroadcast_of_a_mined_transaction_is_harmless(rpc_devnet: Any, compile_on_devnet: Any, key0: str, w3: Any) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    signed = runner.sign("withdraw", plan.steps[0].call, gas_estimate=plan.steps[0].gas.estimate)
    assert runner.lookup(signed.tx_hash) is None  # the node never saw it
    runner.broadcast(signed)
    first = runner.wait(signed.tx_hash)
    count = nonce(w3)
    runner.broadcast(signed)  # "nonce too low" for our own hash: success, nothing new
    again = runner.lookup(signed.tx_hash)
    assert again is not None and again.status == first.status == "ok" and again.block == first.block
    assert nonce(w3) == count


# ----------------------------------------------------------------------------- refusals before sending


def test_stale_plan_is_refused_field_by_field(rpc_devnet: Any, chain: Any, compile_on_devnet: Any, apply_rpc: Any,
                                               key0: str, w3: Any) -> None:
    plan = compile_on_devnet(WALLET_TO_AERODROME)  # spends 1,000 USDC from the wallet
    send(w3, usdc(chain), erc20_call("transfer", to=ACCOUNT1, value=9_500 * 10**6))  # wallet keeps 500 USDC
    before = nonce(w3)
    with pytest.raises(StalePlanError) as exc:
        apply_rpc(plan)
    assert exc.value.changes == ["USDC balance: plan assumes >= 1,000.00 USDC, chain has 500.00 USDC"]
    assert nonce(w3) == before  # nothing sent


def test_preflight_catches_a_revert_with_its_decoded_reason(rpc_devnet: Any, chain: Any, compile_on_devnet: Any,
                                                            apply_rpc: Any, key0: str, w3: Any) -> None:
    """Balances still match, but the pool moved: the swap would now miss its min-out; refused before step 1."""
    plan = compile_on_devnet(WALLET_TO_AERODROME)
    swap = plan.step("swap")
    router = swap.call.to
    _, args = decode_call(swap.call.data)
    token_in = args["routes"][0]["from"]
    mint = "0x40c10f19" + encode(["address", "uint256"], [ACCOUNT1, 200_000 * 10**6]).hex()  # test token: mint(address,uint256)
    send(w3, token_in, mint, sender=ACCOUNT1)
    send(w3, token_in, erc20_call("approve", spender=router, value=200_000 * 10**6), sender=ACCOUNT1)
    moved = function("aerodrome/Router", "swapExactTokensForTokens").encode(
        {**args, "amountIn": 200_000 * 10**6, "amountOutMin": 0, "to": ACCOUNT1})
    assert send(w3, router, moved, sender=ACCOUNT1)["status"] == 1
    before = nonce(w3)
    with pytest.raises(StalePlanError) as exc:
        apply_rpc(plan)
    assert exc.value.where == "preflight (the whole plan, tried on a copy of the current state)"
    assert exc.value.message.startswith("plan is stale: step swap fails: ") and "InsufficientOutputAmount()" in exc.value.message
    assert "run record" not in exc.value.message  # a fresh apply has no finished steps to keep
    assert nonce(w3) == before


def test_wrong_chain_id_is_refused(rpc_devnet: Any, compile_on_devnet: Any, chain: Any, key0: str, w3: Any, tmp_path: Path) -> None:
    """A plan for another chain id sends nothing: refused by the registry of that id when the plan names the chain
    otherwise (it is not reviewed without one), and by the runner's chain id when the plan's own config says that id."""
    from mammon.run.engine import ApplyOptions, apply_plan

    plan = compile_on_devnet(AAVE_TO_WALLET)
    other = seal(plan.model_copy(update={"chain": ChainRef(id=8453, name="devnet")}))
    runner = RpcRunner.create(other, rpc_url=rpc_devnet.rpc_url)
    before = nonce(w3)
    with pytest.raises(PlanError, match=r"^plan: chain.name: the plan names chain id 8453 'devnet', but the registry's chain 8453 is base"):
        apply_plan(other, runner, ApplyOptions(record_path=tmp_path / "r.json", state_dir=tmp_path))
    claimed = chain.model_copy(update={"chain_id": 8453})  # the devnet's contracts, said to be on chain 8453
    with pytest.raises(WrongChainError, match=r"the rpc runner is on chain 31337, the plan is for devnet \(8453\)"):
        apply_plan(other, runner, ApplyOptions(record_path=tmp_path / "r.json", state_dir=tmp_path, chain=claimed))
    assert nonce(w3) == before


def test_wrong_signer_is_refused(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any, monkeypatch: pytest.MonkeyPatch, w3: Any) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY1)
    with pytest.raises(WrongChainError) as exc:
        apply_rpc(plan)
    assert f"the signer is {ACCOUNT1}, the plan's wallet is {WALLET}" in str(exc.value)
    assert KEY1[2:] not in str(exc.value)


def test_someone_else_using_the_wallet_stops_the_run(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any, key0: str, w3: Any) -> None:
    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)  # the run starts: nonce N noted
    send(w3, WALLET, "0x", gas=21_000)  # another sender (same key elsewhere) uses nonce N
    before = nonce(w3)
    with pytest.raises(NonceMovedError, match=r"sent 1 transaction\(s\) that are not part of this apply"):
        apply_rpc(plan, runner)
    assert nonce(w3) == before


def test_a_step_that_would_revert_at_signing_is_not_sent(rpc_devnet: Any, chain: Any, compile_on_devnet: Any, key0: str, w3: Any) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    too_much = Call(to=usdc(chain), data=erc20_call("transfer", to=ACCOUNT1, value=10**15))
    before = nonce(w3)
    with pytest.raises(WouldRevertError, match=r'Error\("ERC20: transfer amount exceeds balance"\)'):
        runner.sign("x", too_much, gas_estimate=50_000)
    assert nonce(w3) == before


# ----------------------------------------------------------------------------- revert reasons


def test_on_chain_revert_is_decoded_from_a_replay(rpc_devnet: Any, chain: Any, compile_on_devnet: Any, key0: str, w3: Any) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    receipt = send(w3, usdc(chain), erc20_call("transfer", to=WALLET, value=1), sender=ACCOUNT1, gas=100_000)  # ACCOUNT1 holds no USDC
    assert receipt["status"] == 0
    outcome = runner.wait("0x" + receipt["transactionHash"].hex().removeprefix("0x"))
    assert outcome.status == "reverted" and outcome.gas_used == receipt["gasUsed"]
    assert outcome.revert_reason == 'Error("ERC20: transfer amount exceeds balance")'


def test_decode_revert_formats() -> None:
    error = bytes.fromhex("08c379a0") + encode(["string"], ["STF"])
    assert decode_revert(error) == 'Error("STF")'
    assert decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["32"])) == 'Error("32") (Aave V3 error 32: NOT_ENOUGH_AVAILABLE_USER_BALANCE)'
    assert decode_revert(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])) == "Panic(0x11: arithmetic overflow or underflow)"
    custom = bytes.fromhex("e450d38c") + encode(["address", "uint256", "uint256"], [WALLET, 5, 7])
    assert decode_revert(custom) == f"ERC20InsufficientBalance({WALLET}, 5, 7)"
    assert decode_revert(bytes.fromhex("42301c23")) == "InsufficientOutputAmount()"
    assert decode_revert(bytes.fromhex("deadbeef01")).startswith("custom error 0xdeadbeef (unknown selector")
    assert decode_revert(None, "execution reverted") == "reverted without a reason (no revert data)"
    assert decode_revert(b"", "execution reverted: Too little received") == "Too little received"


# ----------------------------------------------------------------------------- fees, gas, confirmations


def test_transactions_are_eip1559_with_margin_and_explicit_nonces(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any,
                                                                   key0: str, w3: Any) -> None:
    plan = compile_on_devnet(MOONWELL_TO_AAVE)
    start = nonce(w3)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    applied = apply_rpc(plan, runner)
    for n, step in enumerate(applied.record.steps):
        tx = w3.eth.get_transaction(step.tx_hash)
        assert tx["type"] == 2 and tx["nonce"] == start + n
        assert tx["maxFeePerGas"] >= 2 * w3.eth.get_block(tx["blockNumber"] - 1)["baseFeePerGas"]
        limit, source = runner.gas_limits[step.tx_hash]
        assert source == "node" and tx["gas"] == limit
        assert step.gas_used <= limit and limit <= with_margin(step.gas_used) * 11 // 10  # estimate * 1.2, not wildly more
        receipt = w3.eth.get_transaction_receipt(step.tx_hash)
        cost = runner.costs[step.tx_hash]
        assert cost.l1_fee_wei is None  # the devnet is not an OP-stack chain
        assert cost.l2_fee_wei == step.gas_used * receipt["effectiveGasPrice"]


def test_l1_data_fee_from_the_gas_price_oracle(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any, key0: str, w3: Any) -> None:
    """An OP-stack chain (Base) has the GasPriceOracle predeploy: its getL1Fee is reported beside L2 gas."""
    stub = "0x613039600052602060" + "00f3"  # returns uint256 12345 for any call
    w3.provider.make_request("anvil_setCode", [GAS_PRICE_ORACLE, stub])
    plan = compile_on_devnet(AAVE_TO_WALLET)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    applied = apply_rpc(plan, runner)
    tx_hash = applied.record.steps[0].tx_hash
    assert runner.l1_fees == {tx_hash: 12345}
    cost = runner.costs[tx_hash]
    assert cost.l1_fee_wei == 12345 and cost.l1_fee_source == "oracle"
    assert cost.total_wei == cost.l2_fee_wei + 12345 and cost.l2_fee_wei == cost.gas_used * cost.effective_gas_price


def test_waits_for_the_configured_confirmations(rpc_devnet: Any, compile_on_devnet: Any, apply_rpc: Any, key0: str, w3: Any) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url, confirmations=3)
    runner.poll_max = 0.05
    stop = threading.Event()

    def mine_slowly() -> None:
        while not stop.wait(0.2):
            w3.provider.make_request("evm_mine", [])

    miner = threading.Thread(target=mine_slowly)
    t0 = time.monotonic()
    miner.start()
    try:
        applied = apply_rpc(plan, runner)
    finally:
        stop.set()
        miner.join()
    assert applied.record.status == "ok"
    mined_in = applied.record.steps[0].block
    assert w3.eth.block_number >= mined_in + 2 and time.monotonic() - t0 >= 0.35


# ----------------------------------------------------------------------------- options and keys


def test_missing_node_or_key_is_a_clear_input_error(monkeypatch: pytest.MonkeyPatch, rpc_devnet: Any, compile_on_devnet: Any) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    monkeypatch.delenv("ETH_RPC_URL", raising=False)
    monkeypatch.delenv("MAMMON_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("MAMMON_MNEMONIC", raising=False)
    with pytest.raises(InputError, match="pass --rpc-url URL or set ETH_RPC_URL"):
        RpcRunner.create(plan)
    with pytest.raises(InputError, match="no signing key: set MAMMON_PRIVATE_KEY or MAMMON_MNEMONIC, or pass --keystore"):
        RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", KEY0)
    with pytest.raises(NodeUnreachable) as exc:
        RpcRunner.create(plan, rpc_url="http://user:hunter2@127.0.0.1:9/v2/SECRETAPIKEY")
    assert "eth_chainId: cannot reach the node at http://127.0.0.1:9/… (connection refused) after 5 attempts" in str(exc.value)
    assert "SECRETAPIKEY" not in str(exc.value) and "hunter2" not in str(exc.value)


def test_redact() -> None:
    assert redact("https://base-mainnet.example/v2/abc?key=1") == "https://base-mainnet.example/…"
    assert redact("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    assert redact("not a url") == "<node url>"


def test_bad_keys_are_refused_without_quoting_them(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = KEY0[:-1] + "g"
    monkeypatch.setenv("MAMMON_PRIVATE_KEY", bad)
    with pytest.raises(InputError) as exc:
        load_signer()
    assert bad[2:12] not in str(exc.value) and exc.value.__cause__ is None and exc.value.__context__ is None
    with pytest.raises(InputError, match="not a valid secp256k1 private key"):
        from_hex("0x" + "00" * 32)
    signer = from_hex(KEY0[2:].upper())
    assert signer.address == WALLET and repr(signer) == str(signer) == f"Signer({WALLET})"
    with pytest.raises(TypeError):
        vars(signer)  # __slots__: no __dict__ for a debugger or logger to dump
    with pytest.raises(TypeError):
        __import__("pickle").dumps(signer)


def test_keystore_password_from_env_prompt_or_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "key.json"
    path.write_text(__import__("json").dumps(Account.encrypt(KEY0, "correct horse", kdf="pbkdf2", iterations=1000)))
    monkeypatch.delenv("MAMMON_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("MAMMON_KEYSTORE_PASSWORD", "correct horse")
    assert load_signer(path).address == WALLET
    monkeypatch.setenv("MAMMON_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(InputError, match="wrong keystore password"):
        load_signer(path)
    monkeypatch.delenv("MAMMON_KEYSTORE_PASSWORD")
    assert from_keystore(path, prompt=lambda _msg: "correct horse").address == WALLET
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(""))  # not a terminal: no prompt possible
    with pytest.raises(InputError, match="set MAMMON_KEYSTORE_PASSWORD"):
        load_signer(path)
    with pytest.raises(InputError, match="not an encrypted JSON keystore"):
        (tmp_path / "x.json").write_text("{}")
        load_signer(tmp_path / "x.json")


def test_key_never_printed_or_written(rpc_devnet: Any, compile_on_devnet: Any, mammon: Any, key0: str, w3: Any,
                                      tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from mammon.plan.planfile import dump

    caplog.set_level("DEBUG")
    plan_path = tmp_path / "plan.yaml"
    dump(compile_on_devnet(MOONWELL_TO_AAVE), plan_path)
    state_dir = tmp_path / "state"
    common = ("--rpc-url", rpc_devnet.rpc_url, "--chain-config", rpc_devnet.chain_config, "--state-dir", state_dir, "--yes")
    ok = mammon("apply", plan_path, "--runner", "rpc", "-o", tmp_path / "run.json", *common, env={"MAMMON_PRIVATE_KEY": key0})
    assert "result: all effects within tolerance" in ok.stdout
    refused = mammon("apply", plan_path, "--runner", "rpc", "-o", tmp_path / "run2.json", *common, code=None,
                     env={"MAMMON_PRIVATE_KEY": KEY1})  # wrong signer: an error path that handles a key
    assert refused.code == 2 and "the signer is" in refused.stderr
    texts = [ok.stdout, ok.stderr, refused.stdout, refused.stderr, caplog.text, plan_path.read_text()]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    for key in (KEY0, KEY1):
        for form in (key, key[2:], key[2:].upper()):
            assert not any(form in text for text in texts), "a private key leaked"


def test_preflight_without_anvil_uses_eth_simulate_v1(rpc_devnet: Any, chain: Any, compile_on_devnet: Any, key0: str,
                                                      w3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plan = compile_on_devnet(AAVE_TO_WALLET)
    runner = RpcRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    monkeypatch.setenv("MAMMON_ANVIL", str(tmp_path / "no-anvil"))  # as on a machine without node_modules
    fine = Call(to=usdc(chain), data=erc20_call("transfer", to=ACCOUNT1, value=1))
    too_much = Call(to=usdc(chain), data=erc20_call("transfer", to=ACCOUNT1, value=10**15))
    assert runner.scratch() is None, "no anvil: no fork to dry-run on"
    assert [o.status for o in runner.preflight(plan) or []] == ["ok"]  # eth_simulateV1 of the plan's step
    outcomes = runner.simulate_calls([fine, too_much, fine])
    assert outcomes is not None and [o.status for o in outcomes] == ["ok", "reverted"]
    assert outcomes[1].revert_reason == f'call #2 to {usdc(chain)}: Error("ERC20: transfer amount exceeds balance")'
