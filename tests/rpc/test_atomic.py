"""Atomic plans on the devnet: one EIP-7702 transaction (`--runner batch`) or one Safe execTransaction (`--runner safe`).

Real bytecode throughout: Simple7702Account (account-abstraction 0.8.0), Safe 1.4.1 + MultiSendCallOnly.
Bad input (wrong owner, too few signatures, Safe nonce moved, wallet delegated elsewhere): one line, exit 2, nothing sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from mammon.devnet.artifacts import load_artifact as artifact
from mammon.plan.model import BATCH_FORMAT_VERSION
from mammon.plan.planfile import load
from mammon_test_support import EXAMPLES_DIR, Mammon
from rpchelp import KEY0, KEY1, WALLET, nonce

OWNER_KEYS = {  # anvil accounts 2, 3, 4: the 2-of-3 Safe's owners; account 1 owns the 1-of-1
    2: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    3: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    4: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
}
NOT_OWNER = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # account 1


@pytest.fixture()
def env(rpc_devnet: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    monkeypatch.setenv("MAMMON_DEVNET_CONFIG", str(rpc_devnet.chain_config))
    return {"MAMMON_PRIVATE_KEY": KEY0}


def plan_file(mammon: Mammon, tmp_path: Path, example: str, wallet: str, mode: str, rpc: str) -> Path:
    out = tmp_path / f"{example}.{mode}.yaml"
    extra = ["--rpc", rpc]  # the devnet's state as it is now: its Morpho-style vault's share price has grown since any static world
    mammon("plan", EXAMPLES_DIR / f"{example}.yaml", "--chain", "devnet", "--wallet", wallet, "--execution", mode, *extra, "-o", out)
    return out


def apply(mammon: Mammon, plan: Path, runner: str, rpc: str, tmp_path: Path, key: str = KEY0, code: int | None = 0) -> Any:
    return mammon("apply", plan, "--runner", runner, "--rpc-url", rpc, "--yes", "--quiet", "--state-dir", tmp_path / "state",
                  code=code, env={"MAMMON_PRIVATE_KEY": key})


# --- EIP-7702 batch --------------------------------------------------------------------------------


def test_batch_applies_a_five_step_cross_token_plan_in_one_transaction(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path) -> None:
    plan = plan_file(mammon, tmp_path, "aave-weth-to-morpho-usdc", WALLET, "batch", rpc_devnet.rpc_url)
    loaded = load(plan)
    assert loaded.execution == "batch" and loaded.format_version == BATCH_FORMAT_VERSION and len(loaded.steps) == 5
    assert "Execution batch: ONE type-4 transaction" in mammon("show", plan).stdout
    before, block = nonce(w3), w3.eth.block_number
    run = apply(mammon, plan, "batch", rpc_devnet.rpc_url, tmp_path)
    assert "result: all effects within tolerance" in run.stdout
    assert w3.eth.block_number == block + 1 and len(w3.eth.get_block(block + 1)["transactions"]) == 1  # one transaction, one block
    # the wallet's nonce moves by 2: the transaction, and its own EIP-7702 authorization (signed for nonce + 1)
    assert nonce(w3) == before + 2
    delegate = rpc_devnet.deployment.batching["simple7702_account"]
    assert bytes(w3.eth.get_code(WALLET)) == bytes.fromhex("ef0100" + delegate[2:].lower())
    record = json.loads((tmp_path / "aave-weth-to-morpho-usdc.batch.batch.run.json").read_text())
    assert len({s["tx_hash"] for s in record["steps"]}) == 1 and record["steps"][0]["raw_tx"]
    # per inner call, from the logs inside each call's frame: the swap's USDC came from the pool
    swap = next(s for s in record["steps"] if s["id"] == "swap")
    assert any(int(e["after"]) - int(e["before"]) > 0 and e["token"] == "USDC" for e in swap["effects"])
    # a rerun finds the journaled transaction: nothing is signed or sent again
    again = apply(mammon, plan, "batch", rpc_devnet.rpc_url, tmp_path)
    assert "result: all effects within tolerance" in again.stdout and nonce(w3) == before + 2
    # another run record for the same plan: the audit log knows it was applied, so it is refused
    line = mammon.refuses("apply", plan, "--runner", "batch", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--state-dir", tmp_path / "state",
                          "-o", tmp_path / "other.run.json", env={"MAMMON_PRIVATE_KEY": KEY0})
    assert "was already applied" in line and nonce(w3) == before + 2


def test_wallet_delegated_elsewhere_is_refused(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path) -> None:
    plan = plan_file(mammon, tmp_path, "aave-to-morpho", WALLET, "batch", rpc_devnet.rpc_url)
    elsewhere = rpc_devnet.deployment.uniswap_v3["swap_router02"]
    w3.provider.make_request("anvil_setCode", [WALLET, "0xef0100" + elsewhere[2:].lower()])  # type: ignore[arg-type]
    before = nonce(w3)
    line = mammon.refuses("apply", plan, "--runner", "batch", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--state-dir", tmp_path / "s",
                          env={"MAMMON_PRIVATE_KEY": KEY0})
    assert f"is delegated (EIP-7702) to {elsewhere}, not to the plan's Simple7702Account" in line
    assert nonce(w3) == before


def test_batch_plan_needs_the_batch_runner(mammon: Mammon, rpc_devnet: Any, env: Any, tmp_path: Path) -> None:
    plan = plan_file(mammon, tmp_path, "aave-to-morpho", WALLET, "batch", rpc_devnet.rpc_url)
    assert "apply it with --runner batch" in mammon.refuses("apply", plan, "--runner", "rpc", "--rpc-url", rpc_devnet.rpc_url, "--yes")


def test_batch_plan_needs_the_policys_required_approvals(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path) -> None:
    """The policy's reviewers rule binds one-transaction plans as it binds sequential ones."""
    plan = plan_file(mammon, tmp_path, "aave-to-morpho", WALLET, "batch", rpc_devnet.rpc_url)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[policy]\nrequired_approvals = 1\napprovers = ["{WALLET}"]\n')
    args = ("apply", plan, "--runner", "batch", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--quiet", "--policy", policy,
            "--state-dir", tmp_path / "state")
    before = nonce(w3)
    assert "required_approvals is 1 of 1 approvers, but 0 approved plan" in mammon.refuses(*args, env={"MAMMON_PRIVATE_KEY": KEY0})
    assert nonce(w3) == before, "nothing was sent"
    mammon("approve", plan, env={"MAMMON_PRIVATE_KEY": KEY0})
    mammon(*args, env={"MAMMON_PRIVATE_KEY": KEY0})
    assert nonce(w3) > before, "the approved plan was sent (a first delegation's authorization takes a nonce of its own)"


# --- Safe ------------------------------------------------------------------------------------------


def safe_tx_hash_of(w3: Web3, plan: Any) -> str:
    tx = plan.batch.safe
    safe = w3.eth.contract(address=tx.safe, abi=artifact("SafeL2").abi)
    return "0x" + bytes(safe.functions.getTransactionHash(tx.to, tx.value, bytes.fromhex(tx.data[2:]), tx.operation, tx.safe_tx_gas, tx.base_gas,
                                                          tx.gas_price, tx.gas_token, tx.refund_receiver, tx.nonce).call()).hex()


def test_safe_plan_signed_by_two_owners_executes_once(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path) -> None:
    safe = rpc_devnet.deployment.batching["safes"]["two_of_three"]["address"]
    plan = plan_file(mammon, tmp_path, "morpho-to-aave", safe, "safe", rpc_devnet.rpc_url)
    loaded = load(plan)
    tx = loaded.batch.safe  # type: ignore[union-attr]
    assert tx is not None and tx.threshold == 2 and tx.nonce == 0
    # the plan's safeTxHash is the deployed Safe's own, and eth-account's EIP-712 encoding agrees
    assert tx.safe_tx_hash == safe_tx_hash_of(w3, loaded)
    typed = encode_typed_data(full_message={
        "types": {"EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
                  "SafeTx": [{"name": n, "type": t} for n, t in (("to", "address"), ("value", "uint256"), ("data", "bytes"), ("operation", "uint8"),
                             ("safeTxGas", "uint256"), ("baseGas", "uint256"), ("gasPrice", "uint256"), ("gasToken", "address"),
                             ("refundReceiver", "address"), ("nonce", "uint256"))]},
        "primaryType": "SafeTx", "domain": {"chainId": 31337, "verifyingContract": safe},
        "message": {"to": tx.to, "value": 0, "data": bytes.fromhex(tx.data[2:]), "operation": 1, "safeTxGas": 0, "baseGas": 0, "gasPrice": 0,
                    "gasToken": tx.gas_token, "refundReceiver": tx.refund_receiver, "nonce": 0}})
    from eth_utils import keccak
    assert "0x" + keccak(b"\x19\x01" + typed.header + typed.body).hex() == tx.safe_tx_hash

    payer_before = nonce(w3)
    line = mammon.refuses("apply", plan, "--runner", "safe", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--state-dir", tmp_path / "s",
                          env={"MAMMON_PRIVATE_KEY": KEY0})
    assert "needs 2 of 3 owner signatures; it has 0 (from nobody); 2 missing" in line
    assert "not an owner of Safe" in mammon.refuses("safe", "sign", plan, env={"MAMMON_PRIVATE_KEY": NOT_OWNER})
    out = mammon("safe", "sign", plan, env={"MAMMON_PRIVATE_KEY": OWNER_KEYS[3]}).stdout
    assert OWNER_KEYS[3][2:] not in out and "it has 1" in out and "1 missing" in out
    line = mammon.refuses("apply", plan, "--runner", "safe", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--state-dir", tmp_path / "s",
                          env={"MAMMON_PRIVATE_KEY": KEY0})
    assert f"it has 1 (from {Account.from_key(OWNER_KEYS[3]).address}); 1 missing" in line
    assert nonce(w3) == payer_before  # nothing sent
    signed = mammon("safe", "sign", plan, "--rpc-url", rpc_devnet.rpc_url, env={"MAMMON_PRIVATE_KEY": OWNER_KEYS[2]})
    assert "ready to apply" in signed.stdout and "not tried on a fork" not in signed.stderr
    run = apply(mammon, plan, "safe", rpc_devnet.rpc_url, tmp_path)
    assert "result: all effects within tolerance" in run.stdout
    assert nonce(w3) == payer_before + 1
    safe_contract = w3.eth.contract(address=safe, abi=artifact("SafeL2").abi)
    assert safe_contract.functions.nonce().call() == 1


def test_safe_nonce_moved_is_refused(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path) -> None:
    info = rpc_devnet.deployment.batching["safes"]["one_of_one"]
    plan = plan_file(mammon, tmp_path, "morpho-to-wallet", info["address"], "safe", rpc_devnet.rpc_url)
    mammon("safe", "sign", plan, env={"MAMMON_PRIVATE_KEY": NOT_OWNER})  # account 1 owns the 1-of-1
    # signing again after the nonce moved: the fork preflight refuses, nothing is signed
    other = plan_file(mammon, tmp_path, "morpho-to-aave", info["address"], "safe", rpc_devnet.rpc_url)
    # the Safe's slot 5 is its nonce (Safe 1.4.1 storage layout): someone executed another transaction meanwhile
    w3.provider.make_request("anvil_setStorageAt", [info["address"], "0x5", "0x" + "00" * 31 + "01"])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # in a block, as a real execTransaction would be
    before = nonce(w3)
    line = mammon.refuses("apply", plan, "--runner", "safe", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--state-dir", tmp_path / "s",
                          env={"MAMMON_PRIVATE_KEY": KEY0})
    assert "plan is stale" in line and "Safe nonce: plan assumes == 0" in line
    assert nonce(w3) == before
    line = mammon.refuses("safe", "sign", other, "--rpc-url", rpc_devnet.rpc_url, env={"MAMMON_PRIVATE_KEY": NOT_OWNER})
    assert line.startswith("safe sign: preflight") and "reverts" in line
    assert not (tmp_path / "morpho-to-aave.safe.safe-signatures.json").exists()


def test_a_bad_signatures_file_is_refused_before_the_fork_trial_starts_anvil(mammon: Mammon, rpc_devnet: Any, env: Any, key0: str,
                                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Safe runner's trial builds execTransaction (reading the owners' signatures) before it forks the node:
    a signatures file that is not one is refused in one line naming it, and no anvil fork was started."""
    from mammon import fork as anvil_fork
    from mammon.errors import InputError
    from mammon.run.safe import SafeRunner

    safe = rpc_devnet.deployment.batching["safes"]["one_of_one"]["address"]
    plan = load(plan_file(mammon, tmp_path, "morpho-to-aave", safe, "safe", rpc_devnet.rpc_url))
    bad = tmp_path / "bad.safe-signatures.json"
    bad.write_text("{not json")
    runner = SafeRunner.create(plan, rpc_url=rpc_devnet.rpc_url, signatures=str(bad))
    assert isinstance(runner, SafeRunner)
    forks: list[str] = []

    class Watched(anvil_fork.Fork):  # the real fork, its starts counted
        def __init__(self, url: str, *args: Any, **kwargs: Any) -> None:
            forks.append(url)
            super().__init__(url, *args, **kwargs)

    monkeypatch.setattr(anvil_fork, "Fork", Watched)
    with pytest.raises(InputError) as exc:
        runner.trial(plan)
    assert str(exc.value) == f"{bad}: malformed JSON at line 1 column 2: Expecting property name enclosed in double quotes"
    assert forks == []


def test_tampered_inner_call_is_refused(mammon: Mammon, rpc_devnet: Any, env: Any, tmp_path: Path) -> None:
    from mammon.plan.planfile import dumps, seal

    plan = plan_file(mammon, tmp_path, "aave-to-morpho", WALLET, "batch", rpc_devnet.rpc_url)
    loaded = load(plan)
    batch = loaded.batch
    assert batch is not None
    data = batch.call.data
    spender = loaded.steps[1].call.data[34:74]  # approve's spender, inside the executeBatch bytes
    evil = data.replace(spender, "11" * 20, 1)
    assert evil != data
    tampered = seal(loaded.model_copy(update={"batch": batch.model_copy(update={"call": batch.call.model_copy(update={"data": evil})})}))
    bad = tmp_path / "tampered.yaml"
    bad.write_text(dumps(tampered))
    line = mammon.refuses("show", bad)
    assert "inner call 2 differs from step deposit_approve in its calldata" in line


# --- every example, in every atomic mode -----------------------------------------------------------

REFUSAL_RULES = ("reports a failed", "is only known within")  # Compound error codes; ranges wider than the slippage budget
EXAMPLES = sorted(p.relative_to(EXAMPLES_DIR).with_suffix("").as_posix() for p in [*EXAMPLES_DIR.glob("*.yaml"), *EXAMPLES_DIR.glob("devnet/*.yaml")])
#: wallet -> the keys that sign: the batch is the wallet's own (KEY0); a Safe's transaction is signed by `threshold` of its owners
ATOMIC_WALLETS = {"batch": ("wallet", ()), "safe 1-of-1": ("one_of_one", (KEY1,)), "safe 2-of-3": ("two_of_three", (OWNER_KEYS[2], OWNER_KEYS[4]))}


def _apply_example_atomically(example: str, wallet_name: str, keys: tuple[str, ...], rpc_devnet: Any, chain: Any, w3: Web3, tmp_path: Path) -> None:
    """Compile `example` for one atomic mode, apply it on the devnet, and check the diff, or check the refusal names a rule."""
    from mammon import clock
    from mammon.compile.batching import read_safe_state
    from mammon.compile.compiler import compile_plan
    from mammon.diff import diff, render_text
    from mammon.errors import PlanError
    from mammon.market import load_market
    from mammon.market_rpc import read_market
    from mammon.recommend import load_recommendations
    from mammon.run.atomic import AtomicRunner, apply_atomic
    from mammon.run.batch import BatchRunner
    from mammon.run.engine import ApplyOptions
    from mammon.run.keys import from_hex
    from mammon.run.safe import SafeRunner, sign

    mode = "batch" if wallet_name == "wallet" else "safe"
    wallet = WALLET if mode == "batch" else rpc_devnet.deployment.batching["safes"][wallet_name]["address"]
    recs = load_recommendations(EXAMPLES_DIR / f"{example}.yaml")
    market = read_market(rpc_devnet.rpc_url, chain, wallet, load_market())
    safe_state = read_safe_state(rpc_devnet.rpc_url, wallet) if mode == "safe" else None
    # A Moonwell step is the one the examples meet that a batch cannot guard (Compound error codes): refused by that rule,
    # naming the step; every other example must apply.
    has_moonwell = "moonwell" in (EXAMPLES_DIR / f"{example}.yaml").read_text().lower()
    try:
        plan = compile_plan(recs, chain=chain, wallet=wallet, market=market, now=clock.now(), execution=mode, safe=safe_state)
    except PlanError as exc:
        assert any(rule in exc.message for rule in REFUSAL_RULES), exc.message
        assert "refused for step " in exc.message
        assert has_moonwell and "moonwell reports a failed" in exc.message, exc.message
        return
    assert not has_moonwell, f"{example} has a Moonwell step, yet --execution {mode} compiled it"
    runner: AtomicRunner
    if mode == "safe":
        signatures = tmp_path / "plan.safe-signatures.json"
        for key in keys:
            sign(plan, from_hex(key), signatures)
        created = SafeRunner.create(plan, rpc_url=rpc_devnet.rpc_url, signatures=str(signatures))
    else:
        created = BatchRunner.create(plan, rpc_url=rpc_devnet.rpc_url)
    assert isinstance(created, AtomicRunner)
    runner = created
    payer_nonce, block = nonce(w3), w3.eth.block_number
    (tmp_path / "state").mkdir()
    record = apply_atomic(plan, runner, ApplyOptions(record_path=tmp_path / "run.json", state_dir=tmp_path / "state", chain=chain, now=clock.now))
    result = diff(plan, record)
    assert record.status == "ok" and result.ok, render_text(result)
    assert w3.eth.block_number == block + 1 and len(w3.eth.get_block(block + 1)["transactions"]) == 1  # one transaction, one block
    if mode == "batch":
        assert nonce(w3) == payer_nonce + 2  # the transaction, plus its own authorization
    else:
        safe = w3.eth.contract(address=wallet, abi=artifact("SafeL2").abi)
        assert safe.functions.nonce().call() == safe_state.nonce + 1 and nonce(w3) == payer_nonce + 1  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", list(ATOMIC_WALLETS))
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_applies_as_one_transaction_or_is_refused_by_a_rule(example: str, mode: str, rpc_devnet: Any, chain: Any, w3: Web3,
                                                                         key0: str, tmp_path: Path) -> None:
    """Every example, in every atomic mode (the Safes hold the wallet's positions): one transaction whose effects are within
    the plan's tolerance, or a refusal by one of the stated rules. The Safe's gas is paid by KEY0, a non-owner."""
    wallet_name, keys = ATOMIC_WALLETS[mode]
    _apply_example_atomically(example, wallet_name, keys, rpc_devnet, chain, w3, tmp_path)


def test_a_two_of_three_safe_runs_an_aave_and_lp_plan_signed_through_the_cli(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any,
                                                                            tmp_path: Path) -> None:
    """The Safe's Aave supply and Aerodrome LP, moved in one execTransaction that two owners signed with `mammon safe sign`."""
    safe = rpc_devnet.deployment.batching["safes"]["two_of_three"]["address"]
    plan = plan_file(mammon, tmp_path, "aave-to-aerodrome-lp", safe, "safe", rpc_devnet.rpc_url)
    for owner in (2, 4):
        mammon("safe", "sign", plan, "--rpc-url", rpc_devnet.rpc_url, env={"MAMMON_PRIVATE_KEY": OWNER_KEYS[owner]})
    run = apply(mammon, plan, "safe", rpc_devnet.rpc_url, tmp_path)
    assert "result: all effects within tolerance" in run.stdout
    record = tmp_path / "aave-to-aerodrome-lp.safe.safe.run.json"
    assert "within tolerance" in mammon("diff", plan, record).stdout
    # the node gas (two approvals standing in for two signatures) is what the signed execution used
    estimate = load(plan).batch.gas.estimate  # type: ignore[union-attr]
    used = w3.eth.get_transaction_receipt(json.loads(record.read_text())["steps"][0]["tx_hash"])["gasUsed"]
    assert abs(estimate - used) <= 2 * 100, (estimate, used)  # zero bytes in a signature or an owner's address move it by 12 gas each


def test_crash_between_journal_and_broadcast_resends_the_same_bytes(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal holds the signed batch before it leaves: a rerun broadcasts those bytes, never a second transaction."""
    from mammon.run.batch import BatchRunner

    plan = plan_file(mammon, tmp_path, "aave-to-morpho", WALLET, "batch", rpc_devnet.rpc_url)
    before = nonce(w3)

    def crash(self: Any, signed: Any) -> None:
        raise SystemExit(9)  # the process dies after the journal write, before the node saw anything

    with monkeypatch.context() as m:
        m.setattr(BatchRunner, "broadcast", crash)
        apply(mammon, plan, "batch", rpc_devnet.rpc_url, tmp_path, code=9)
    record = json.loads((tmp_path / "aave-to-morpho.batch.batch.run.json").read_text())
    journaled = record["steps"][0]["tx_hash"]
    assert record["steps"][0]["raw_tx"] and nonce(w3) == before  # signed and journaled, never sent
    run = apply(mammon, plan, "batch", rpc_devnet.rpc_url, tmp_path)
    assert "result: all effects within tolerance" in run.stdout
    assert nonce(w3) == before + 2 and w3.eth.get_transaction(journaled)["hash"].hex().removeprefix("0x") == journaled.removeprefix("0x")


# --- gas measured on a fork of the node; a batch whose dry run fails is refused -------------------------


def test_node_gas_of_atomic_plans_is_what_the_transaction_uses(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any, tmp_path: Path) -> None:
    """`plan --rpc` measures the one transaction on a fork: a Safe's (owners' approvals standing in for their signatures,
    plus SAFE_SIGNATURE_GAS each) and a batch's (plus the authorization when the wallet is not delegated yet)."""
    from mammon.run.batch import AUTHORIZATION_REFUND

    info = rpc_devnet.deployment.batching["safes"]["one_of_one"]
    safe_plan = plan_file(mammon, tmp_path, "aave-weth-to-morpho-usdc", info["address"], "safe", rpc_devnet.rpc_url)
    loaded = load(safe_plan)
    assert loaded.batch is not None and loaded.batch.gas.source == "node" and loaded.totals.gas == loaded.batch.gas.estimate
    assert f"for the one transaction {loaded.batch.gas.estimate:,} (node)" in mammon("show", safe_plan).stdout
    assert mammon("validate", safe_plan).stderr == ""  # compiled again from its inputs, node gas included: the same plan
    mammon("safe", "sign", safe_plan, env={"MAMMON_PRIVATE_KEY": KEY1})
    apply(mammon, safe_plan, "safe", rpc_devnet.rpc_url, tmp_path)
    record = json.loads((tmp_path / "aave-weth-to-morpho-usdc.safe.safe.run.json").read_text())
    used = w3.eth.get_transaction_receipt(record["steps"][0]["tx_hash"])["gasUsed"]
    assert abs(loaded.batch.gas.estimate - used) <= 100, (loaded.batch.gas.estimate, used)  # zero bytes in a signature cost 12 gas less

    out = tmp_path / "batch.yaml"
    mammon("plan", EXAMPLES_DIR / "aave-weth-to-morpho-usdc.yaml", "--chain", "devnet", "--wallet", WALLET, "--execution", "batch",
           "--rpc", rpc_devnet.rpc_url, "-o", out)
    batch = load(out).batch
    assert batch is not None and batch.gas.source == "node"
    apply(mammon, out, "batch", rpc_devnet.rpc_url, tmp_path)
    record = json.loads((tmp_path / "batch.batch.run.json").read_text())
    used = w3.eth.get_transaction_receipt(record["steps"][0]["tx_hash"])["gasUsed"]
    # with the wallet's first authorization (25,000 charged, 12,500 refunded to an account that exists): exactly what it used
    assert batch.gas.estimate == used
    signed_limit = w3.eth.get_transaction(record["steps"][0]["tx_hash"])["gas"]
    assert signed_limit == batch.gas.estimate * 12 // 10 + AUTHORIZATION_REFUND  # the margin, and the refund charged up front


def cap_aave_usdc_supply(w3: Any, rpc_devnet: Any) -> None:
    """Aave's own rule makes a supply revert: a supply cap of 1 USDC, far below what the reserve holds (as in test_failing_dry_run)."""
    from mammon.devnet.artifacts import load_artifact

    dep = rpc_devnet.deployment
    configurator = w3.eth.contract(address=dep.aave_v3["pool_configurator"], abi=load_artifact("PoolConfigurator").abi)
    tx = configurator.functions.setSupplyCap(dep.tokens["USDC"], 1).transact({"from": WALLET})  # the deployer is pool admin
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1


@pytest.mark.parametrize("mode", ["batch", "safe"])
def test_an_atomic_plan_whose_dry_run_fails_is_refused_naming_the_inner_call(mode: str, mammon: Mammon, rpc_devnet: Any, w3: Web3,
                                                                             tmp_path: Path) -> None:
    """As for sequential plans (tests/rpc/test_failing_dry_run.py): exit 2 naming the step, its place in the one transaction and
    the decoded reason, nothing written; --allow-failing writes it marked (show warns, validate exits 1)."""
    cap_aave_usdc_supply(w3, rpc_devnet)
    wallet = WALLET if mode == "batch" else rpc_devnet.deployment.batching["safes"]["one_of_one"]["address"]
    out = tmp_path / "plan.yaml"
    args = ("plan", EXAMPLES_DIR / "wallet-to-aave.yaml", "--wallet", wallet, "--chain-config", rpc_devnet.chain_config,
            "--rpc", rpc_devnet.rpc_url, "--execution", mode, "-o", out)
    line = mammon.refuses(*args)
    assert line.startswith("--rpc http://127.0.0.1:")
    assert f"step deposit (inner call 2 of the one {mode} transaction) fails in the plan's dry run on the node (fork of block " in line
    assert 'reverts with Error("51") (Aave V3 error 51: SUPPLY_CAP_EXCEEDED)' in line
    assert line.endswith("the whole transaction would revert; no plan written (--allow-failing writes it, marked as failing)")
    assert not out.exists()

    mammon(*args, "--allow-failing")
    plan = load(out)
    assert plan.batch is not None and plan.batch.gas.source == "static" and plan.batch.gas.failed_dry_run
    shown = mammon("show", out, "--chain-config", rpc_devnet.chain_config).stdout
    assert "step deposit FAILED the plan's dry run on the node" in shown and f"step deposit (inner call 2 of the one {mode} transaction)" in shown
    assert "SUPPLY_CAP_EXCEEDED" in shown and "Warnings  none" not in shown
    checked = mammon("validate", out, "--chain-config", rpc_devnet.chain_config, code=1)
    assert "warning: step deposit FAILED the plan's dry run on the node" in checked.stderr


def test_apply_refuses_a_batch_whose_fork_trial_fails_naming_the_inner_call(mammon: Mammon, rpc_devnet: Any, w3: Web3, env: Any,
                                                                            tmp_path: Path) -> None:
    """The chain moved after planning (Aave's supply cap): the runner's trial on a fork names the step; nothing is signed or sent."""
    plan = plan_file(mammon, tmp_path, "wallet-to-aave", WALLET, "batch", rpc_devnet.rpc_url)
    cap_aave_usdc_supply(w3, rpc_devnet)
    before = nonce(w3)
    line = mammon.refuses("apply", plan, "--runner", "batch", "--rpc-url", rpc_devnet.rpc_url, "--yes", "--state-dir", tmp_path / "s",
                          env={"MAMMON_PRIVATE_KEY": KEY0})
    assert 'inner call 2 (step deposit) reverts with Error("51") (Aave V3 error 51: SUPPLY_CAP_EXCEEDED)' in line
    assert "nothing was signed or sent" in line and nonce(w3) == before
