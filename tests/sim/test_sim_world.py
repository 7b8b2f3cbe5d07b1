"""Loading the starting world, and the gas model."""

from __future__ import annotations

from pathlib import Path

import pytest
from simhelp import NOW, WALLET, compile_rec, encode, execute, token

from mammon.chains import ChainConfig, load_chain
from mammon.errors import InputError
from mammon.market import Market, Portfolio, load_market
from mammon.sim import CallReverted, SimChain, gas

A_USDC = "0x4e65fE4DbA92790696d040ac24Aa414708F5c0AB"
M_USDC = "0xEdc817A28E8B93B03976FBd4a3dDBc9f7D176c22"
VAULT_USDC = "0xc1256Ae5FF1cf2719D4937adb3bbCCab2E00A2Ca"
OTHER = "0x000000000000000000000000000000000000bEEF"


def _with(world: Market, **venues: dict) -> Market:
    return world.model_copy(update={"venues": {**world.venues, **venues}})


def test_default_world_holdings_and_venue_cash(chain: SimChain, base: ChainConfig) -> None:
    usdc, weth = token(base, "USDC"), token(base, "WETH")
    assert chain.balance_of(usdc, WALLET) == 10_000 * 10**6 and chain.balance_of(weth, WALLET) == 10 * 10**18
    assert chain.native_balance(WALLET) == 10**18
    assert chain.balance_of(A_USDC, WALLET) == 5_000 * 10**6
    assert chain.balance_of(usdc, A_USDC) == (5_000 + 1_000_000) * 10**6  # position + cash
    assert chain.balance_of(M_USDC, WALLET) == 5_000 * 10**6 * 10**18 // 204_000_000_000_000
    assert chain.call_function(M_USDC, "moonwell/MToken", "balanceOfUnderlying", WALLET) == 4_999_999_999
    shares = chain.balance_of(VAULT_USDC, WALLET)
    assert shares == 5_000 * 10**6 * (10**23 + 10**12) // (105_000_000_000 + 1)
    assert chain.call_function(VAULT_USDC, "morpho/ERC4626", "totalSupply") == 10**23  # the state already includes it
    assert chain.call_function(VAULT_USDC, "morpho/ERC4626", "totalAssets") == chain.balance_of(usdc, VAULT_USDC) == 105_000 * 10**6
    assert chain.notes == []


def test_a_listed_address_gets_its_holdings_others_the_portfolio(base: ChainConfig, world: Market) -> None:
    market = world.model_copy(update={"holdings": {OTHER: Portfolio(wallet={"USDC": "7"})}})
    chain = SimChain(market, base, [WALLET, OTHER], int(NOW.timestamp()))
    usdc = token(base, "USDC")
    assert chain.balance_of(usdc, OTHER) == 7 * 10**6 and chain.balance_of(A_USDC, OTHER) == 0
    assert chain.balance_of(usdc, WALLET) == 10_000 * 10**6


def test_world_allowances_are_set(base: ChainConfig, world: Market) -> None:
    pool = "0xA238Dd80C259a72e81d7e4664a9801593F98d1c5"
    portfolio = Portfolio(wallet={"USDC": "10"}, allowances=[{"token": "USDC", "spender": pool, "amount": "2.5"}])
    chain = SimChain(world.model_copy(update={"portfolio": portfolio}), base, [WALLET], int(NOW.timestamp()))
    assert chain.allowance(token(base, "USDC"), WALLET, pool) == 2_500_000


@pytest.mark.parametrize("venues,field", [
    ({"aave_v3": {"reserves": {"USDC": {"liquidity_index": "-1"}}}}, "world venues.aave_v3: reserves.USDC.liquidity_index"),
    ({"moonwell": {"markets": {"USDC": {"exchange_rate": "lots"}}}}, "world venues.moonwell: markets.USDC.exchange_rate"),
    ({"morpho": {"vaults": {"USDC": {"total_assets": "1"}}}}, "world venues.morpho: vaults.USDC.total_supply"),
    ({"aerodrome": {"pools": {"USDC/WETH": {"reserve_a": "1", "reserve_b": "1", "total_supply": "1", "fee": "3"}}}},
     "world venues.aerodrome: pools.USDC/WETH.fee"),
    ({"compound": {}}, "world venues.compound"),
])
def test_malformed_venue_state_names_the_field(base: ChainConfig, world: Market, venues: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        SimChain(_with(world, **venues), base, [WALLET], int(NOW.timestamp()))
    assert str(err.value).startswith(field), str(err.value)


def test_positions_beyond_the_state_totals_are_refused(base: ChainConfig, world: Market) -> None:
    tiny = _with(world, morpho={"vaults": {**world.venues["morpho"]["vaults"], "USDC": {"total_assets": "1000", "total_supply": "1000"}}})
    with pytest.raises(InputError, match="total_supply must already include them"):
        SimChain(tiny, base, [WALLET], int(NOW.timestamp()))


def test_raw_shares_read_from_a_node_are_used_as_is(base: ChainConfig, world: Market) -> None:
    assert world.portfolio is not None
    portfolio = world.portfolio.model_copy(update={"shares": {"moonwell": {"USDC": "12345"}, "morpho": {"USDC": "678"}}})
    chain = SimChain(world.model_copy(update={"portfolio": portfolio}), base, [WALLET], int(NOW.timestamp()))
    assert chain.balance_of(M_USDC, WALLET) == 12345
    assert chain.balance_of(VAULT_USDC, WALLET) == 678
    bad = world.portfolio.model_copy(update={"shares": {"moonwell": {"USDC": "1.5"}}})
    with pytest.raises(InputError, match=r"world portfolio.shares.moonwell.USDC"):
        SimChain(world.model_copy(update={"portfolio": bad}), base, [WALLET], int(NOW.timestamp()))


def test_a_malformed_world_file_is_one_input_error(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text("prices_usd: {USDC: '1'}\nvenues: [1, 2\n")
    with pytest.raises(InputError, match="malformed YAML"):
        load_market(path)


def test_entries_for_another_chain_are_noted_not_fatal(world: Market) -> None:
    sepolia = load_chain("base-sepolia")
    chain = SimChain(world, sepolia, [WALLET], int(NOW.timestamp()))
    assert any("moonwell" in note and "USDC" in note for note in chain.notes)
    assert chain.balance_of(sepolia.token("USDC").address, WALLET) == 10_000 * 10**6


def test_views_do_not_change_state_and_revert_as_calls(chain: SimChain, base: ChainConfig) -> None:
    before = dict(chain.storage)
    assert chain.call_function(M_USDC, "moonwell/MToken", "exchangeRateCurrent") == 204_000_000_000_000
    assert chain.storage == before
    with pytest.raises(CallReverted, match="no contract at"):
        chain.balance_of(OTHER, WALLET)


# ------------------------------------------------------------------------------ gas


def test_gas_is_intrinsic_calldata_storage_cold_accounts_and_execution(chain: SimChain, base: ChainConfig) -> None:
    usdc = token(base, "USDC")
    data = encode("erc20/ERC20", "approve", spender=OTHER, value=1)
    raw = bytes.fromhex(data[2:])
    calldata = sum(4 if b == 0 else 16 for b in raw)
    first = chain.send(WALLET, usdc, data)
    assert first.gas_used == 21_000 + calldata + 22_100 + gas.EXECUTION[("erc20", "approve")]  # zero -> non-zero slot
    again = chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=OTHER, value=2))
    assert again.gas_used == 21_000 + calldata + 5_000 + gas.EXECUTION[("erc20", "approve")]
    same = chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=OTHER, value=2))
    assert same.gas_used == 21_000 + calldata + gas.EXECUTION[("erc20", "approve")]  # unchanged slot: no write cost


def test_gas_is_within_5_percent_of_the_real_bytecode_on_the_devnet(chain: SimChain) -> None:
    """Medians measured by bench/gas.py on the devnet (real Aave V3 / Uniswap V3 / ERC-20 bytecode; a live-rate
    Aave market: borrowers, every call updates the indexes)."""
    plan = compile_rec(to_protocol="aave_v3", token="USDC", amount="1000")
    approve, supply = (ex.receipt.gas_used for ex in execute(chain, plan))
    assert approve == pytest.approx(46_210, rel=0.05)
    assert supply == pytest.approx(148_209, rel=0.05)
    swap_plan = compile_rec(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="100")
    swap = next(ex for ex in execute(chain, swap_plan) if ex.step.id == "swap").receipt.gas_used
    assert swap == pytest.approx(124_461, rel=0.05)
    failed = chain.send(WALLET, OTHER, "0x12345678")
    assert failed.status == "reverted" and failed.gas_used == 21_000 + 4 * 16
