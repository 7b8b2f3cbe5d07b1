"""The protocols' failure rules, as the chain (and the devnet stand-ins) apply them."""

from __future__ import annotations

import pytest
from simhelp import MAX, NOW, WALLET, compile_rec, encode, execute, token

from mammon.chains import ChainConfig
from mammon.market import Market
from mammon.sim import SimChain

POOL = "0xA238Dd80C259a72e81d7e4664a9801593F98d1c5"
A_USDC = "0x4e65fE4DbA92790696d040ac24Aa414708F5c0AB"
M_USDC = "0xEdc817A28E8B93B03976FBd4a3dDBc9f7D176c22"
M_WETH = "0x628ff693426583D9a7FB391E54366292F509D457"
VAULT_USDC = "0xc1256Ae5FF1cf2719D4937adb3bbCCab2E00A2Ca"
AERO_ROUTER = "0xcF77a3Ba9A5CA399B7c97c74d54e5b1Beb874E43"
AERO_POOL = "0xcDAC0d6c6C59727a65F871236188350531885C43"
SWAP_ROUTER = "0x2626664c2603336E57B271c5C0b26F421741e481"
OTHER = "0x000000000000000000000000000000000000bEEF"


def _reverts_without_change(chain: SimChain, to: str, data: str, reason: str, sender: str = WALLET) -> None:
    before = dict(chain.storage)
    receipt = chain.send(sender, to, data)
    assert receipt.status == "reverted", receipt
    assert reason in (receipt.revert_reason or ""), receipt.revert_reason
    assert chain.storage == before, "a reverted transaction changed state"
    assert receipt.logs == () and receipt.returned == ()


# ------------------------------------------------------------------------------ approvals


@pytest.mark.parametrize("fields,reason", [
    (dict(to_protocol="aave_v3", token="USDC", amount="1000"), "ERC20: insufficient allowance"),
    (dict(to_protocol="moonwell", token="USDC", amount="1000"), "ERC20: insufficient allowance"),
    (dict(to_protocol="morpho", token="USDC", amount="1000"), "ERC20: insufficient allowance"),
    (dict(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000"), "STF (ERC20: insufficient allowance)"),
    (dict(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000", swap_venue="aerodrome"), "ERC20: insufficient allowance"),
    (dict(from_protocol="aerodrome", token="USDC", amount="all"), "ERC20: insufficient allowance"),
], ids=["aave", "moonwell", "morpho", "uniswap", "aerodrome-swap", "aerodrome-remove-lp"])
def test_spending_without_the_approval_reverts_with_the_allowance_reason(chain: SimChain, fields: dict, reason: str) -> None:
    plan = compile_rec(**fields)
    approve = next(s for s in plan.steps if s.kind == "approve")
    spender = next(s for s in plan.steps if approve.id in s.depends_on)
    _reverts_without_change(chain, spender.call.to, spender.call.data, reason)


def test_allowance_short_of_the_amount_reverts_and_approve_replaces(chain: SimChain, base: ChainConfig) -> None:
    usdc = token(base, "USDC")
    chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=POOL, value=500 * 10**6))
    chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=POOL, value=999 * 10**6))
    assert chain.allowance(usdc, WALLET, POOL) == 999 * 10**6  # replaced, not added
    supply = encode("aave_v3/Pool", "supply", asset=usdc, amount=1000 * 10**6, onBehalfOf=WALLET, referralCode=0)
    _reverts_without_change(chain, POOL, supply, "ERC20: insufficient allowance")


def test_unlimited_allowance_is_not_decremented_and_balance_is_checked(chain: SimChain, base: ChainConfig) -> None:
    usdc = token(base, "USDC")
    assert chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=POOL, value=MAX)).ok
    supply = encode("aave_v3/Pool", "supply", asset=usdc, amount=1000 * 10**6, onBehalfOf=WALLET, referralCode=0)
    assert chain.send(WALLET, POOL, supply).ok
    assert chain.allowance(usdc, WALLET, POOL) == MAX
    too_much = encode("aave_v3/Pool", "supply", asset=usdc, amount=10**6 * 10**6, onBehalfOf=WALLET, referralCode=0)
    _reverts_without_change(chain, POOL, too_much, "ERC20: transfer amount exceeds balance")


# ------------------------------------------------------------------------------ Aave


def _constant_index(world: Market) -> Market:
    """The default world without Aave interest (its reserves earn 3.07% and 1.85%/yr): balances stay put between blocks."""
    venues = {**world.venues, "aave_v3": {"reserves": {}}}
    return world.model_copy(update={"venues": venues})


def test_aave_withdraw_beyond_the_position_reverts_32_and_zero_reverts_26(base: ChainConfig, world: Market) -> None:
    chain = SimChain(_constant_index(world), base, [WALLET], int(NOW.timestamp()))
    usdc = token(base, "USDC")
    held = chain.balance_of(A_USDC, WALLET)
    assert held == 5_000 * 10**6
    _reverts_without_change(chain, POOL, encode("aave_v3/Pool", "withdraw", asset=usdc, amount=held + 1, to=WALLET), "32")
    _reverts_without_change(chain, POOL, encode("aave_v3/Pool", "withdraw", asset=usdc, amount=0, to=WALLET), "26")
    receipt = chain.send(WALLET, POOL, encode("aave_v3/Pool", "withdraw", asset=usdc, amount=held, to=WALLET))
    assert receipt.ok and receipt.returned == (held,)


def test_aave_balance_is_ray_math_on_the_liquidity_index(base: ChainConfig, world: Market) -> None:
    index = 1_234_567_890_123_456_789_012_345_678
    venues = {**world.venues, "aave_v3": {"reserves": {"USDC": {"liquidity_index": str(index)}}}}
    chain = SimChain(world.model_copy(update={"venues": venues}), base, [WALLET], int(NOW.timestamp()))
    ray = 10**27
    scaled = (5_000 * 10**6 * ray + index // 2) // index
    assert chain.balance_of(A_USDC, WALLET) == (scaled * index + ray // 2) // ray
    usdc = token(base, "USDC")
    chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=POOL, value=777_777_777))
    chain.send(WALLET, POOL, encode("aave_v3/Pool", "supply", asset=usdc, amount=777_777_777, onBehalfOf=WALLET, referralCode=0))
    scaled += (777_777_777 * ray + index // 2) // index
    assert chain.balance_of(A_USDC, WALLET) == (scaled * index + ray // 2) // ray


def test_aave_index_grows_with_time_only_when_a_rate_is_given(base: ChainConfig, world: Market) -> None:
    chain = SimChain(_constant_index(world), base, [WALLET], int(NOW.timestamp()))
    before = chain.balance_of(A_USDC, WALLET)
    chain.send(WALLET, OTHER, "0x")  # a block passes
    assert chain.balance_of(A_USDC, WALLET) == before
    venues = {**world.venues, "aave_v3": {"reserves": {"USDC": {"liquidity_index": str(10**27), "liquidity_rate": str(5 * 10**25)}}}}
    growing = SimChain(world.model_copy(update={"venues": venues}), base, [WALLET], int(NOW.timestamp()))
    start = growing.balance_of(A_USDC, WALLET)
    growing.timestamp += 365 * 24 * 3600  # a year of 5% linear interest
    assert growing.balance_of(A_USDC, WALLET) == start * 105 // 100


# ------------------------------------------------------------------------------ Moonwell


def test_moonwell_redeem_beyond_balance_returns_code_9_without_reverting(chain: SimChain) -> None:
    balance = chain.balance_of(M_USDC, WALLET)
    before = dict(chain.storage)
    receipt = chain.send(WALLET, M_USDC, encode("moonwell/MToken", "redeem", redeemTokens=balance + 1))
    assert receipt.status == "ok" and receipt.returned == (9,)
    assert int(receipt.return_data, 16) == 9
    assert [(log.event, log.args["error"], log.args["info"]) for log in receipt.logs] == [("Failure", 9, 45)]
    # nothing moved; only the interest accrual stays, as Compound commits it whether or not the redeem succeeds
    changed = {key[1] for key in chain.storage if chain.storage[key] != before.get(key)}
    assert changed == {"exchangeRate", "accrualBlockTimestamp"}
    huge = chain.send(WALLET, M_USDC, encode("moonwell/MToken", "redeemUnderlying", redeemAmount=10**30))
    assert huge.ok and huge.returned == (9,) and huge.logs[0].args["info"] == 46  # above totalSupply


def test_moonwell_exchange_rate_grows_at_the_supply_rate(chain: SimChain, world: Market) -> None:
    """exchangeRateCurrent accrues: a year at the default world's 5.00%/yr mUSDC supply rate adds 5% to the rate;
    exchangeRateStored stays at the last accrual until something accrues."""
    stored = chain.call_function(M_USDC, "moonwell/MToken", "exchangeRateStored")
    per_second = int(world.venues["moonwell"]["markets"]["USDC"]["supply_rate"])
    assert chain.call_function(M_USDC, "moonwell/MToken", "supplyRatePerTimestamp") == per_second
    chain.timestamp += 365 * 24 * 3600
    assert chain.call_function(M_USDC, "moonwell/MToken", "exchangeRateStored") == stored
    current = chain.call_function(M_USDC, "moonwell/MToken", "exchangeRateCurrent")
    assert current == stored + stored * per_second * 365 * 24 * 3600 // 10**18
    assert abs(current / stored - 1.05) < 1e-9
    tokens = chain.balance_of(M_USDC, WALLET)
    underlying = chain.send(WALLET, M_USDC, encode("moonwell/MToken", "balanceOfUnderlying", owner=WALLET))
    assert underlying.returned[0] >= tokens * current // 10**18  # a block later: at least that


def test_moonwell_short_cash_returns_code_14(chain: SimChain, base: ChainConfig) -> None:
    m_usdc = chain.contract(M_USDC)
    m_usdc.set_exchange_rate(m_usdc.rate() * 1_000)  # interest the market cannot pay out
    receipt = chain.send(WALLET, M_USDC, encode("moonwell/MToken", "redeem", redeemTokens=MAX))
    assert receipt.ok and receipt.returned == (14,) and receipt.logs[0].args["info"] == 47


def test_moonwell_max_redeems_everything_and_truncates(chain: SimChain, base: ChainConfig) -> None:
    usdc = token(base, "USDC")
    tokens = chain.balance_of(M_USDC, WALLET)
    wallet_before = chain.balance_of(usdc, WALLET)
    receipt = chain.send(WALLET, M_USDC, encode("moonwell/MToken", "redeemUnderlying", redeemAmount=MAX))
    assert receipt.ok and receipt.returned == (0,)
    rate = chain.call_function(M_USDC, "moonwell/MToken", "exchangeRateStored")  # accrued to the redeem's block
    assert chain.balance_of(M_USDC, WALLET) == 0
    assert chain.balance_of(usdc, WALLET) - wallet_before == tokens * rate // 10**18


def test_moonwell_redeem_of_less_than_one_mtoken_reverts(chain: SimChain) -> None:
    """Moonwell's Comptroller.redeemVerify: an amount worth less than one mToken (which would burn none) reverts."""
    rate = chain.call_function(M_WETH, "moonwell/MToken", "exchangeRateStored")
    assert rate > 10**18  # 18-decimal underlying: one mToken is worth more than one wei
    _reverts_without_change(chain, M_WETH, encode("moonwell/MToken", "redeemUnderlying", redeemAmount=1), "redeemTokens zero")


def test_moonwell_mweth_redeems_in_native_eth(chain: SimChain, base: ChainConfig) -> None:
    weth = token(base, "WETH")
    eth_before, weth_before = chain.native_balance(WALLET), chain.balance_of(weth, WALLET)
    receipt = chain.send(WALLET, M_WETH, encode("moonwell/MToken", "redeemUnderlying", redeemAmount=10**18))
    assert receipt.ok and receipt.returned == (0,)
    assert chain.native_balance(WALLET) - eth_before == 10**18
    assert chain.balance_of(weth, WALLET) == weth_before


# ------------------------------------------------------------------------------ Morpho (ERC-4626)


def test_a_vault_share_price_grows_at_its_stated_rate(chain: SimChain, world: Market) -> None:
    """A MetaMorpho-style vault's totalAssets grow with time at `share_price_rate` (4.50%/yr in the default world);
    a vault with no stated rate keeps its price until assets are sent to it."""
    rate = int(world.venues["morpho"]["vaults"]["USDC"]["share_price_rate"])
    price = chain.call_function(VAULT_USDC, "morpho/ERC4626", "convertToAssets", 10**18)
    total = chain.call_function(VAULT_USDC, "morpho/ERC4626", "totalAssets")
    chain.timestamp += 365 * 24 * 3600
    assert chain.call_function(VAULT_USDC, "morpho/ERC4626", "totalAssets") == total + total * rate // 10**27
    assert abs(chain.call_function(VAULT_USDC, "morpho/ERC4626", "convertToAssets", 10**18) / price - 1.045) < 1e-6
    cash = chain.balance_of(token(chain.config, "USDC"), VAULT_USDC)
    assert chain.send(WALLET, VAULT_USDC, encode("morpho/ERC4626", "redeem", shares=10**18, receiver=WALLET, owner=WALLET)).ok
    paid = cash - chain.balance_of(token(chain.config, "USDC"), VAULT_USDC)
    assert abs(paid - price * 1045 // 1000) <= 3  # paid at the grown price (the redeem's block is 2 s later)


def test_morpho_limits_and_share_allowance(chain: SimChain, base: ChainConfig) -> None:
    shares = chain.balance_of(VAULT_USDC, WALLET)
    most = chain.call_function(VAULT_USDC, "morpho/ERC4626", "maxWithdraw", WALLET)
    # 1 USDC above the maximum: the share price grows by the next block (4.50%/yr), by far less than that
    _reverts_without_change(chain, VAULT_USDC, encode("morpho/ERC4626", "withdraw", assets=most + 10**6, receiver=WALLET, owner=WALLET),
                            "ERC4626ExceededMaxWithdraw")
    _reverts_without_change(chain, VAULT_USDC, encode("morpho/ERC4626", "redeem", shares=shares + 1, receiver=WALLET, owner=WALLET),
                            "ERC4626ExceededMaxRedeem")
    on_behalf = encode("morpho/ERC4626", "redeem", shares=10**18, receiver=OTHER, owner=WALLET)
    _reverts_without_change(chain, VAULT_USDC, on_behalf, "ERC20: insufficient allowance", sender=OTHER)
    assert chain.send(WALLET, VAULT_USDC, encode("erc20/ERC20", "approve", spender=OTHER, value=10**18)).ok
    receipt = chain.send(OTHER, VAULT_USDC, on_behalf)
    assert receipt.ok and chain.balance_of(token(base, "USDC"), OTHER) == receipt.returned[0] > 0
    assert chain.allowance(VAULT_USDC, WALLET, OTHER) == 0


# ------------------------------------------------------------------------------ swaps


def _moved(world: Market, venue: str, reserves: dict) -> Market:
    return world.model_copy(update={"venues": {**world.venues, venue: {"pools": {"USDC/WETH": reserves}}}})


def test_uniswap_swap_below_min_out_reverts_when_the_price_moved(base: ChainConfig, world: Market) -> None:
    plan = compile_rec(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000")  # compiled on the default world
    worse = _moved(world, "uniswap_v3", {"reserve_a": "3100000000000", "reserve_b": "1000000000000000000000"})  # WETH 3% dearer
    chain = SimChain(worse, base, [WALLET], int(NOW.timestamp()))
    approve, swap = plan.step("swap_approve"), plan.step("swap")
    assert chain.send(WALLET, approve.call.to, approve.call.data).ok
    _reverts_without_change(chain, swap.call.to, swap.call.data, "Too little received")
    same = SimChain(world, base, [WALLET], int(NOW.timestamp()))
    assert all(ex.receipt.ok for ex in execute(same, plan))


def test_uniswap_amount_in_zero_reverts(chain: SimChain, base: ChainConfig) -> None:
    params = {"tokenIn": token(base, "USDC"), "tokenOut": token(base, "WETH"), "fee": 500, "recipient": WALLET,
              "amountIn": 0, "amountOutMinimum": 0, "sqrtPriceLimitX96": 0}
    _reverts_without_change(chain, SWAP_ROUTER, encode("uniswap_v3/SwapRouter02", "exactInputSingle", params=params), "AS")
    params.update(amountIn=10**6, fee=3000)  # no pool at this fee tier
    _reverts_without_change(chain, SWAP_ROUTER, encode("uniswap_v3/SwapRouter02", "exactInputSingle", params=params), "no Uniswap V3 pool")


def test_uniswap_swap_moves_the_pool_reserves_as_token_balances(chain: SimChain, base: ChainConfig) -> None:
    plan = compile_rec(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000")
    swap = plan.step("swap")
    pool = next(e.account for e in swap.effects if e.account != WALLET)
    usdc, weth = token(base, "USDC"), token(base, "WETH")
    assert (chain.balance_of(usdc, pool), chain.balance_of(weth, pool)) == (3_000_000 * 10**6, 1_000 * 10**18)
    done = execute(chain, plan)
    out = next(ex for ex in done if ex.step.id == "swap").receipt.returned[0]
    assert chain.balance_of(weth, pool) == 1_000 * 10**18 - out
    assert chain.balance_of(usdc, pool) == 3_000_000 * 10**6 + 1_000 * 10**6
    fee = -(-1_000 * 10**6 * 500 // 1_000_000)
    net = 1_000 * 10**6 - fee
    assert out == net * 1_000 * 10**18 // (3_000_000 * 10**6 + net)


def test_aerodrome_swap_below_min_out_reverts(base: ChainConfig, world: Market) -> None:
    plan = compile_rec(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000", swap_venue="aerodrome")
    worse = _moved(world, "aerodrome", {"reserve_a": "3103000000000", "reserve_b": "1001000000000000000000", "total_supply": "54827028006267127"})
    chain = SimChain(worse, base, [WALLET], int(NOW.timestamp()))
    approve, swap = plan.step("swap_approve"), plan.step("swap")
    assert chain.send(WALLET, approve.call.to, approve.call.data).ok
    _reverts_without_change(chain, swap.call.to, swap.call.data, "InsufficientOutputAmount()")


@pytest.mark.parametrize("fields", [
    dict(token="USDC", to_token="WETH", to_protocol="aave_v3", amount="1000", swap_venue="aerodrome"),
    dict(to_protocol="aerodrome", token="USDC", amount="1000"),
    dict(from_protocol="aerodrome", token="USDC", amount="all"),
], ids=["swap", "add-liquidity", "remove-liquidity"])
def test_aerodrome_calls_after_their_deadline_revert_expired(base: ChainConfig, world: Market, fields: dict) -> None:
    plan = compile_rec(**fields)
    late = SimChain(world, base, [WALLET], int(plan.valid_until.timestamp()))  # the next block is 2 s past the deadline
    results = execute(late, plan)
    router_calls = [ex for ex in results if ex.step.call.to == AERO_ROUTER]
    assert router_calls and all(ex.receipt.revert_reason == "Expired()" for ex in router_calls)
    assert router_calls[0].receipt.return_data == "0x203d82d8"  # the Expired() selector, as the chain returns it


def test_aerodrome_stable_route_and_unknown_factory_revert(chain: SimChain, base: ChainConfig) -> None:
    usdc, weth = token(base, "USDC"), token(base, "WETH")
    deadline = int(NOW.timestamp()) + 600
    chain.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=AERO_ROUTER, value=10**9))
    for route, reason in [({"from": usdc, "to": weth, "stable": True, "factory": "0x" + "00" * 20}, "StablePoolsNotSupported()"),
                          ({"from": usdc, "to": weth, "stable": False, "factory": OTHER}, "PoolFactoryDoesNotExist()")]:
        data = encode("aerodrome/Router", "swapExactTokensForTokens", amountIn=10**9, amountOutMin=0, routes=[route], to=WALLET, deadline=deadline)
        _reverts_without_change(chain, AERO_ROUTER, data, reason)


def test_aerodrome_remove_liquidity_pays_pro_rata_of_the_reserves(chain: SimChain, base: ChainConfig) -> None:
    usdc, weth = token(base, "USDC"), token(base, "WETH")
    lp = chain.balance_of(AERO_POOL, WALLET)
    supply = chain.call_function(AERO_POOL, "aerodrome/Pool", "totalSupply")
    r_usdc, r_weth = chain.balance_of(usdc, AERO_POOL), chain.balance_of(weth, AERO_POOL)
    chain.send(WALLET, AERO_POOL, encode("erc20/ERC20", "approve", spender=AERO_ROUTER, value=lp))
    receipt = chain.send(WALLET, AERO_ROUTER, encode("aerodrome/Router", "removeLiquidity", tokenA=usdc, tokenB=weth, stable=False,
                                                     liquidity=lp, amountAMin=0, amountBMin=0, to=WALLET, deadline=int(NOW.timestamp()) + 60))
    assert receipt.ok and receipt.returned == (lp * r_usdc // supply, lp * r_weth // supply)
    assert chain.call_function(AERO_POOL, "aerodrome/Pool", "totalSupply") == supply - lp


# ------------------------------------------------------------------------------ dispatch


def test_unknown_target_and_selector_revert_with_a_clear_reason(chain: SimChain, base: ChainConfig) -> None:
    _reverts_without_change(chain, OTHER, "0x12345678", "no contract at")
    _reverts_without_change(chain, POOL, "0xdeadbeef", "has no function with selector 0xdeadbeef")
    _reverts_without_change(chain, token(base, "USDC"), "0x095ea7b3", "does not decode")  # approve without arguments


def test_a_revert_mid_transaction_undoes_the_earlier_transfers(chain: SimChain, base: ChainConfig) -> None:
    """Aave pulls the tokens before minting; a failing mint (scaled amount 0 at a huge index) rolls the pull back."""
    huge = {"aave_v3": {"reserves": {"USDC": {"liquidity_index": str(10**40)}}}}
    rich = SimChain(chain.market.model_copy(update={"venues": {**chain.market.venues, **huge}}), base, [WALLET], int(NOW.timestamp()))
    usdc = token(base, "USDC")
    rich.send(WALLET, usdc, encode("erc20/ERC20", "approve", spender=POOL, value=1))
    _reverts_without_change(rich, POOL, encode("aave_v3/Pool", "supply", asset=usdc, amount=1, onBehalfOf=WALLET, referralCode=0), "24")
