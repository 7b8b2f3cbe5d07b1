"""ERC-4626 rounding always favours the vault, for any vault state and amounts (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simhelp import NOW, WALLET, encode

from mammon.chains import ChainConfig, load_chain
from mammon.market import Market, Portfolio
from mammon.protocols.morpho import VaultState, assets_for_redeem, shares_for_deposit, shares_for_withdraw
from mammon.sim import SimChain

BASE: ChainConfig = load_chain("base")
VAULT = "0xc1256Ae5FF1cf2719D4937adb3bbCCab2E00A2Ca"  # moonwell_flagship_usdc_v1 (USDC, offset 12)
USDC = BASE.token("USDC").address
RICH = "1000000000000"  # 1e12 USDC in the wallet


def _chain(total_assets: int, total_supply: int) -> SimChain:
    market = Market(prices_usd={"USDC": 1}, venues={"morpho": {"vaults": {"USDC": {"total_assets": str(total_assets), "total_supply": str(total_supply)}}}},
                    holdings={WALLET: Portfolio(wallet={"USDC": RICH})})
    chain = SimChain(market, BASE, [WALLET], int(NOW.timestamp()))
    assert chain.send(WALLET, USDC, encode("erc20/ERC20", "approve", spender=VAULT, value=2**256 - 1)).ok
    return chain


vault_states = st.tuples(st.integers(0, 10**15), st.integers(0, 10**30))  # total_assets (USDC raw), total_supply (shares)
amounts = st.integers(1, 10**14)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=vault_states, assets=amounts)
def test_deposit_then_redeem_never_returns_more_than_deposited(state: tuple[int, int], assets: int) -> None:
    chain = _chain(*state)
    deposit = chain.send(WALLET, VAULT, encode("morpho/ERC4626", "deposit", assets=assets, receiver=WALLET))
    assert deposit.ok, deposit.revert_reason
    (shares,) = deposit.returned
    assert shares == shares_for_deposit(assets, VaultState(total_assets=state[0], total_supply=state[1]), 12)  # the compiler's math
    if shares == 0:
        return
    redeem = chain.send(WALLET, VAULT, encode("morpho/ERC4626", "redeem", shares=shares, receiver=WALLET, owner=WALLET))
    assert redeem.ok, redeem.revert_reason
    assert redeem.returned[0] <= assets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=vault_states, assets=amounts)
def test_withdraw_burns_at_least_the_shares_a_deposit_mints(state: tuple[int, int], assets: int) -> None:
    vault = VaultState(total_assets=state[0], total_supply=state[1])
    chain = _chain(*state)
    minted = chain.call_function(VAULT, "morpho/ERC4626", "previewDeposit", assets)
    burned = chain.call_function(VAULT, "morpho/ERC4626", "previewWithdraw", assets)
    assert burned >= minted
    assert burned == shares_for_withdraw(assets, vault, 12)
    back = chain.call_function(VAULT, "morpho/ERC4626", "previewRedeem", minted)
    assert back == assets_for_redeem(minted, vault, 12) <= assets


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=vault_states, assets=amounts, take=st.integers(1, 10**14))
def test_withdraw_then_redeem_the_rest_never_returns_more_than_deposited(state: tuple[int, int], assets: int, take: int) -> None:
    chain = _chain(*state)
    assert chain.send(WALLET, VAULT, encode("morpho/ERC4626", "deposit", assets=assets, receiver=WALLET)).ok
    before = chain.balance_of(USDC, WALLET)
    most = chain.call_function(VAULT, "morpho/ERC4626", "maxWithdraw", WALLET)
    beyond = chain.send(WALLET, VAULT, encode("morpho/ERC4626", "withdraw", assets=most + 1, receiver=WALLET, owner=WALLET))
    assert "ERC4626ExceededMaxWithdraw" in (beyond.revert_reason or "")
    if min(take, most):
        assert chain.send(WALLET, VAULT, encode("morpho/ERC4626", "withdraw", assets=min(take, most), receiver=WALLET, owner=WALLET)).ok
    rest = chain.balance_of(VAULT, WALLET)
    if rest:
        assert chain.send(WALLET, VAULT, encode("morpho/ERC4626", "redeem", shares=rest, receiver=WALLET, owner=WALLET)).ok
    assert chain.balance_of(VAULT, WALLET) == 0
    assert chain.balance_of(USDC, WALLET) - before <= assets
