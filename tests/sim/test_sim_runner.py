"""The `sim` runner: found by entry point, sign-then-broadcast, deterministic, and usable by the apply engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from simhelp import NOW, WALLET, compile_rec

from mammon.errors import RunFailed
from mammon.plan.planfile import dump
from mammon.run.base import Signed
from mammon.run.registry import runner_class
from mammon.run.sim import SimRunner
from mammon.sim import TX_HASH_PREFIX, SimChain


def test_registered_under_the_runner_entry_point() -> None:
    assert runner_class("sim") is SimRunner
    assert SimRunner.name == "sim" and SimRunner.simulated is True


def test_sign_fixes_the_hash_and_broadcast_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = compile_rec(to_protocol="aave_v3", token="USDC", amount="1000")
    runner = SimRunner.create(plan, now=NOW)
    assert runner.chain_id() == 8453 and runner.account() == plan.wallet
    approve = plan.steps[0]
    usdc = approve.call.to
    signed = runner.sign(approve.id, approve.call, gas_estimate=approve.gas.estimate)
    assert signed.tx_hash.startswith(TX_HASH_PREFIX) and len(signed.tx_hash) == 66 and signed.raw_tx is None
    assert runner.lookup(signed.tx_hash) is None  # not mined yet
    assert runner.allowance(usdc, WALLET, plan.steps[1].call.to) == 0
    runner.broadcast(signed)
    runner.broadcast(signed)  # harmless
    outcome = runner.wait(signed.tx_hash)
    assert outcome.status == "ok" and outcome.simulated and outcome.block == 2 and 40_000 < outcome.gas_used < 50_000
    assert runner.allowance(usdc, WALLET, plan.steps[1].call.to) == 1000 * 10**6
    with pytest.raises(RunFailed):
        runner.wait("0x" + "ab" * 32)
    with pytest.raises(RunFailed):
        runner.broadcast(Signed(tx_hash="0x" + "cd" * 32))


def test_two_runs_give_identical_receipts() -> None:
    plan = compile_rec(from_protocol="aerodrome", to_protocol="morpho", token="USDC", amount="all")

    def run() -> list[tuple]:
        runner = SimRunner.create(plan, now=NOW)
        out = []
        for step in plan.steps:
            o = runner.wait(runner.send(step.id, step.call))
            r = runner.receipt(o.tx_hash)
            out.append((o.tx_hash, o.status, o.gas_used, o.return_data, o.block, r.timestamp, r.logs))
        return out

    first, second = run(), run()
    assert first == second
    assert len({h for h, *_ in first}) == len(plan.steps)  # distinct hashes
    assert [t for *_, t, _ in first] == [int(NOW.timestamp()) + 2 * (i + 1) for i in range(len(plan.steps))]


def test_preflight_dry_runs_the_whole_plan_without_keeping_anything() -> None:
    from mammon.plan.planfile import seal
    from mammon.run.engine import preflight

    plan = compile_rec(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")  # with a reference
    runner = SimRunner.create(plan, now=NOW)
    before = dict(runner.chain.storage), runner.chain.block, dict(runner.receipts)
    assert preflight(plan, runner) == []
    assert (dict(runner.chain.storage), runner.chain.block, dict(runner.receipts)) == before
    steps = [s.model_copy(update={"depends_on": ["withdraw"]}) if s.id == "deposit" else s for s in plan.steps if s.kind != "approve"]
    [problem] = preflight(seal(plan.model_copy(update={"steps": steps})), runner)  # the supply without its approval
    assert problem.startswith("step deposit reverts: ") and "insufficient allowance" in problem


def test_gas_estimate_is_only_a_limit_when_asked() -> None:
    plan = compile_rec(to_protocol="aave_v3", token="USDC", amount="1000")
    strict = SimRunner.create(plan, now=NOW, enforce_gas_estimate=True)
    for step in plan.steps:
        strict.broadcast(strict.sign(step.id, step.call, gas_estimate=10_000))
    assert {o.revert_reason.split(" (")[0] for o in map(strict.wait, strict.steps.values())} == {"out of gas"}


def test_world_and_chain_config_files(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text("prices_usd: {USDC: '1'}\nportfolio: {wallet: {USDC: '5'}}\n")
    plan = compile_rec(to_protocol="aave_v3", token="USDC", amount="1000")
    runner = SimRunner.create(plan, world=str(world), now=NOW)
    assert runner.balance_of(plan.steps[0].call.to, WALLET) == 5 * 10**6
    chain_file = tmp_path / "chain.yaml"
    chain_file.write_text("name: base\nchain_id: 8453\ntokens: [{symbol: USDC, address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913', decimals: 6}]\n")
    only_tokens = SimRunner.create(plan, world=str(world), chain_config=str(chain_file), now=NOW)
    outcome = only_tokens.wait(only_tokens.send("deposit", plan.steps[1].call))
    assert outcome.status == "reverted" and "no contract at" in outcome.revert_reason


def test_the_apply_engine_runs_a_plan_on_the_simulator(tmp_path: Path) -> None:
    from mammon.diff import render_text
    from mammon.run.api import apply_file

    plan = compile_rec(from_protocol="moonwell", token="USDC", to_token="WETH", to_protocol="morpho", amount="1000")
    path = tmp_path / "plan.yaml"
    dump(plan, path)
    record, result = apply_file(path, runner_name="sim", state_dir=tmp_path / "state", show_review=False)
    assert record.status == "ok", [(s.id, s.status, s.reason) for s in record.steps]
    assert all(s.tx_hash and s.tx_hash.startswith(TX_HASH_PREFIX) and s.simulated for s in record.steps)
    assert result.ok, render_text(result)


def test_a_simulated_transaction_hash_commits_to_the_abi_encoding_of_the_transaction() -> None:
    """The simulator lays the hashed fields out itself: byte for byte eth-abi's encoding, for every length of calldata."""
    from eth_abi import encode

    from mammon.sim.chain import tx_preimage

    sender, to = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    types = ["uint256", "address", "uint256", "address", "uint256", "bytes", "uint256"]
    for data in (b"", b"\x01", bytes(range(32)), bytes(range(33)), bytes(range(100))):
        for numbers in ((8453, 0, 0, 0), (1, 7, 10**18, 150_000), (2**256 - 1, 2**64, 2**256 - 1, 2**256 - 1)):
            chain_id, nonce, value, gas = numbers
            assert tx_preimage(chain_id, sender, nonce, to, value, data, gas) == encode(types, [chain_id, sender, nonce, to, value, data, gas])


def test_balances_reads_what_balance_of_reads_one_by_one(chain: SimChain) -> None:
    """`SimChain.balances` (the reads around every step, in one rolled-back context) answers what `balance_of`
    answers read by read, and leaves the chain as it was: every contract of the world with a balanceOf (tokens,
    aTokens, mTokens, vault shares, LP tokens), each for the wallet, three contracts and an empty account."""
    tokens = [c.address for c in chain.contracts.values() if c.entry("balanceOf") is not None]
    accounts = [WALLET, *tokens[:3], "0x000000000000000000000000000000000000dEaD"]
    before = dict(chain.storage), chain.block, dict(chain.nonces)
    expected = {(t, a): chain.balance_of(t, a) for t in tokens for a in accounts}
    assert len(tokens) >= 10 and sum(v > 0 for v in expected.values()) >= 5
    assert chain.balances(list(expected)) == list(expected.values())
    assert (dict(chain.storage), chain.block, dict(chain.nonces)) == before


def test_balances_follow_a_patched_balance_of(chain: SimChain, monkeypatch: pytest.MonkeyPatch) -> None:
    """The balanceOf methods `SimChain.balances` remembers per token are the ones the contracts have now: a class
    patched after a read (as tests patch models) is read through its new method, as `balance_of` reads it."""
    from mammon.sim.core import Msg, external
    from mammon.sim.tokens import ERC20

    tokens = [c.address for c in chain.contracts.values() if type(c) is ERC20]
    pairs = [(t, WALLET) for t in tokens]
    assert chain.balances(pairs) == [chain.balance_of(t, WALLET) for t in tokens]

    @external(view=True)
    def balanceOf(self: ERC20, msg: Msg, account: str) -> int:
        return 42

    monkeypatch.setattr(ERC20, "balanceOf", balanceOf)
    assert chain.balances(pairs) == [chain.balance_of(t, WALLET) for t in tokens] == [42] * len(tokens)


def test_balances_follow_a_contract_given_other_abis(chain: SimChain) -> None:
    """A token whose calldata no longer decodes as an ERC-20 (its ABIs replaced after a read) is refused by
    `balances` as by `balance_of`: the remembered method is not used past the ABIs it was found through."""
    from mammon.sim.tokens import ERC20

    token = next(c for c in chain.contracts.values() if type(c) is ERC20)
    assert chain.balances([(token.address, WALLET)]) == [chain.balance_of(token.address, WALLET)]
    token.abis = ("aave_v3/Pool",)
    with pytest.raises(Exception) as by_balances:
        chain.balances([(token.address, WALLET)])
    with pytest.raises(Exception) as by_balance_of:
        chain.balance_of(token.address, WALLET)
    assert type(by_balances.value) is type(by_balance_of.value)
