"""Compiled plans, executed byte for byte on the simulator, do what their effects promise.

For every recipe shape and venue: each step succeeds, every expected balance change (wallet,
venue contracts, pools, position tokens) lands within the step's stated tolerance, the plan's
guards hold (Compound return code 0, min-out), and a withdraw-all leaves no position behind.
"""

from __future__ import annotations

from typing import Any

import pytest
from simhelp import WALLET, compile_rec, execute, within

from mammon.sim import SimChain

SHAPES: list[tuple[str, dict[str, Any]]] = [
    # enter from the wallet
    ("enter-aave", dict(to_protocol="aave_v3", token="USDC", amount="1000")),
    ("enter-moonwell", dict(to_protocol="moonwell", token="USDC", amount="1000")),
    ("enter-morpho", dict(to_protocol="morpho", token="WETH", amount="1.5")),
    # exit to the wallet, part and all
    ("exit-aave", dict(from_protocol="aave_v3", token="WETH", amount="0.5")),
    ("exit-moonwell", dict(from_protocol="moonwell", token="USDC", amount="1234.56")),
    ("exit-morpho", dict(from_protocol="morpho", token="USDC", amount="100")),
    ("withdraw-all-aave", dict(from_protocol="aave_v3", token="USDC", amount="all")),
    ("withdraw-all-moonwell", dict(from_protocol="moonwell", token="USDC", amount="all")),
    ("withdraw-all-morpho", dict(from_protocol="morpho", token="WETH", amount="all")),
    # rebalance between venues (the deposit spends what the withdrawal returned)
    ("rebalance-moonwell-aave", dict(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000")),
    ("rebalance-aave-morpho-all", dict(from_protocol="aave_v3", to_protocol="morpho", token="WETH", amount="all")),
    ("rebalance-morpho-moonwell", dict(from_protocol="morpho", to_protocol="moonwell", token="USDC", amount="2500")),
    # cross-token via each swap venue
    ("swap-uniswap-wallet-aave", dict(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000")),
    ("swap-uniswap-morpho-wallet", dict(from_protocol="morpho", token="WETH", to_token="USDC", amount="1")),
    ("swap-aerodrome-aave-morpho", dict(from_protocol="aave_v3", token="USDC", to_token="WETH", to_protocol="morpho",
                                        amount="1000", swap_venue="aerodrome")),
    ("swap-aerodrome-moonwell-aave", dict(from_protocol="moonwell", token="USDC", to_token="WETH", to_protocol="aave_v3",
                                          amount="all", swap_venue="aerodrome")),
    # Aerodrome LP in and out
    ("lp-enter-wallet", dict(to_protocol="aerodrome", token="USDC", amount="1000")),
    ("lp-enter-from-morpho", dict(from_protocol="morpho", to_protocol="aerodrome", token="WETH", amount="1")),
    ("lp-exit-wallet", dict(from_protocol="aerodrome", token="USDC", amount="all")),
    ("lp-exit-morpho", dict(from_protocol="aerodrome", to_protocol="morpho", token="WETH", amount="all")),
]


@pytest.mark.parametrize("fields", [s[1] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_every_step_succeeds_and_every_effect_is_within_tolerance(chain: SimChain, fields: dict[str, Any]) -> None:
    plan = compile_rec(**fields)
    done = execute(chain, plan)
    for ex in done:
        assert ex.receipt.ok, f"{ex.step.id} reverted: {ex.receipt.revert_reason}"
        for effect in ex.step.effects:
            actual = ex.change(effect)
            assert within(effect, actual), (
                f"{ex.step.id}: {effect.account_label} {effect.token} expected {effect.delta} "
                f"({effect.tolerance.kind} {effect.tolerance.value}), got {actual}")
        for guard in ex.step.guards:
            if guard.kind == "return_code":
                assert ex.receipt.returned == (guard.value,), f"{ex.step.id}: Compound error code {ex.receipt.returned}"
            else:  # min_out on the wallet's token
                got = sum(ex.change(e) for e in ex.step.effects if e.account == WALLET and e.token == guard.token)
                assert got >= guard.value, f"{ex.step.id}: received {got} {guard.token}, below {guard.value}"


@pytest.mark.parametrize("venue,token,position", [
    ("aave_v3", "USDC", "0x4e65fE4DbA92790696d040ac24Aa414708F5c0AB"),
    ("moonwell", "USDC", "0xEdc817A28E8B93B03976FBd4a3dDBc9f7D176c22"),
    ("morpho", "WETH", "0xa0E430870c4604CcfC7B38Ca7845B1FF653D0ff1"),
    ("aerodrome", "USDC", "0xcDAC0d6c6C59727a65F871236188350531885C43"),
])
def test_withdraw_all_leaves_no_position(chain: SimChain, venue: str, token: str, position: str) -> None:
    assert chain.balance_of(position, WALLET) > 0
    plan = compile_rec(from_protocol=venue, token=token, amount="all")
    assert all(ex.receipt.ok for ex in execute(chain, plan))
    assert chain.balance_of(position, WALLET) == 0


def test_step_outputs_match_what_the_wallet_received(chain: SimChain) -> None:
    """The swap's expected amount_out (what later steps' refs encode) is within its [min, max]."""
    plan = compile_rec(from_protocol="aave_v3", token="USDC", to_token="WETH", to_protocol="morpho", amount="1000")
    for ex in execute(chain, plan):
        for name, out in ex.step.outputs.items():
            got = ex.actual.get((out.account, out.token_address))
            if got is None:
                continue
            assert out.min <= got <= out.max, f"{ex.step.id}.{name}: {got} outside [{out.min}, {out.max}]"


def test_a_batch_of_recommendations_runs_end_to_end(chain: SimChain) -> None:
    from mammon import Recommendation, compile_plan
    from simhelp import NOW

    plan = compile_plan([
        Recommendation(from_protocol="moonwell", to_protocol="aave_v3", token="USDC", amount="1000"),
        Recommendation(from_protocol="morpho", to_protocol="moonwell", token="USDC", amount="500"),
    ], chain="base", wallet=WALLET, now=NOW)
    done = execute(chain, plan)
    assert [ex.receipt.ok for ex in done] == [True] * len(plan.steps)
    assert all(within(e, ex.change(e)) for ex in done for e in ex.step.effects)


@pytest.mark.parametrize("bps", [5, 20])
def test_lp_enter_with_tight_slippage(chain: SimChain, bps: int) -> None:
    """The swapped half arrives short by the 0.30% fee: the LP add's minimums follow what the Router will take."""
    plan = compile_rec(to_protocol="aerodrome", token="USDC", amount="1000", slippage_bps=bps)
    done = execute(chain, plan)
    assert all(ex.receipt.ok for ex in done)
    assert all(within(e, ex.change(e)) for ex in done for e in ex.step.effects)
