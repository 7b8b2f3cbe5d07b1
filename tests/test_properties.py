"""Property tests: random valid recommendations always compile to a plan that reviews cleanly, with conserved flows.

Recommendations are drawn over every shape (new position, exit, venue to venue, cross-token through Uniswap V3
or Aerodrome, Aerodrome LP enter/exit), tokens USDC/WETH where the venue supports them, amounts within the
default world's portfolio (wallet 10,000 USDC / 10 WETH; 5,000 USDC / 2 WETH in each venue), `all` where allowed,
and slippage 0-500 bps. What is asserted, for every drawn plan:

1. It compiles, survives `load(dump())` in YAML and JSON with one content hash, and `review` (every check
   `mammon validate` runs: hash, DAG, calldata vs view, expiry) passes with no warnings.
2. Conservation, per step: for each underlying token (USDC, WETH) the expected deltas of all the step's effects,
   over every account (wallet, venue reserves, pools), sum to exactly zero. So across the plan, what leaves one
   place arrives at another. Position tokens (aTokens, mTokens, vault shares, LP) are minted and burned, so
   they are not conserved and not checked here.
3. Swaps: their output is only bounded. In expectation it is conserved like everything else (the wallet gains
   what the pool loses, as in 2); the bound is the min-out in the calldata, which is non-zero and equals
   expected * (10000 - slippage_bps) // 10000, mirrored by the step's `min_out` guard and by the wallet effect's
   `min_out` tolerance, and lies within the output's [min, max] that later steps referencing it are bounded by.
4. Funding: walking the steps in execution order from the default wallet balances, the wallet's expected balance
   of each underlying token never goes below zero (every spend comes after whatever provides its tokens).
5. Where the amount went: the source venue loses the recommended amount (or the whole position, within 2 base
   units of rounding, for `all`); the destination venue gains the final token: the same amount without a swap,
   the (last) swap's expected output with one; and the wallet keeps nothing of what passed through it (an LP
   enter may leave the 1 base unit of an odd amount that cannot be halved). An exit leaves it in the wallet.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mammon import Recommendation, compile_plan, load_market, review
from mammon.chains import load_chain
from mammon.plan.model import Plan
from mammon.plan.planfile import content_hash, dumps, loads
from mammon.units import parse_amount, to_decimal
from mammon_test_support import NOW, WALLET

VENUES = ["aave_v3", "moonwell", "morpho"]
BASE = load_chain("base")
DECIMALS = {"USDC": 6, "WETH": 18}
UNDERLYING = {BASE.token(s).address: s for s in DECIMALS}
MARKET = load_market()
PORTFOLIO = MARKET.portfolio
assert PORTFOLIO is not None


def raw(symbol: str, text: str) -> int:
    return parse_amount(text, DECIMALS[symbol], symbol=symbol)


MINIMUM = {"USDC": raw("USDC", "1"), "WETH": raw("WETH", "0.001")}


def amount_text(symbol: str, base_units: int) -> str:
    return f"{to_decimal(base_units, DECIMALS[symbol]).normalize():f}"


PLACES = [None, *VENUES, "aerodrome"]  # None: the wallet; aerodrome: its USDC/WETH LP position


@st.composite
def recommendations(draw: st.DrawFn) -> Recommendation:
    src = draw(st.sampled_from(PLACES))
    dst = draw(st.sampled_from([p for p in PLACES if p != src or p in VENUES]))
    if src is None and dst is None:
        dst = draw(st.sampled_from(VENUES))
    # Moonwell mWETH redeems to native ETH on Base: mammon refuses WETH withdrawals from Moonwell.
    token = "USDC" if src == "moonwell" else draw(st.sampled_from(["USDC", "WETH"]))
    to_token = None
    if "aerodrome" not in (src, dst) and (src == dst or draw(st.booleans())):
        to_token = "WETH" if token == "USDC" else "USDC"
    if src == "aerodrome":
        amount = "all"  # partial LP exits are refused (see test_bad_input)
    elif src is None:
        amount = amount_text(token, draw(st.integers(MINIMUM[token], raw(token, PORTFOLIO.wallet[token]))))
    else:
        held = raw(token, PORTFOLIO.positions[src][token])
        amount = draw(st.one_of(st.just("all"), st.integers(MINIMUM[token], held).map(lambda n: amount_text(token, n))))
    return Recommendation(
        from_protocol=src, to_protocol=dst, token=token, to_token=to_token, amount=amount,
        slippage_bps=draw(st.integers(0, 500)), swap_venue=draw(st.sampled_from(["uniswap_v3", "aerodrome"])),
        expected_apy="5", confidence=draw(st.integers(0, 100)),
    )


SETTINGS = settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _forwards_assets(venue: str) -> bool:
    from mammon.protocols import venue_class, venue_names
    from mammon.protocols.morpho import ERC4626Vaults

    if venue not in venue_names():  # erc20 approvals
        return False
    cls = venue_class(venue)
    return issubclass(cls, ERC4626Vaults) and not cls.holds_assets


def _check(plan: Plan, rec: Recommendation) -> None:
    # 1. round trips and review
    assert loads(dumps(plan, "yaml")) == plan == loads(dumps(plan, "json"))
    assert content_hash(loads(dumps(plan, "json"))) == plan.content_hash
    rv = review(plan, now=NOW, where="property")
    assert rv.warnings == []
    assert [s.id for s, _ in rv.steps] == [s.id for s in plan.steps]

    wallet = {s: raw(s, PORTFOLIO.wallet[s]) for s in DECIMALS}
    net: dict[tuple[str, str], int] = defaultdict(int)
    for step in plan.steps:
        # 2. conservation per step
        per_token: dict[str, int] = defaultdict(int)
        for e in step.effects:
            if e.token_address in UNDERLYING:
                per_token[e.token] += e.delta
                net[(e.account, e.token)] += e.delta
        if _forwards_assets(step.venue):  # a MetaMorpho vault passes the assets on to its markets: only the wallet's side is stated
            assert {e.account for e in step.effects if e.token_address in UNDERLYING} == {plan.wallet}, step.id
            for token, total in per_token.items():  # the vault is the wallet's counterparty, whatever it does with the assets
                net[(step.call.to, token)] -= total
        else:
            assert all(total == 0 for total in per_token.values()), f"{step.id}: {dict(per_token)}"
        # 3. swaps: output bounded by a non-zero min-out derived from slippage
        if step.kind == "swap":
            out = step.outputs["amount_out"]
            min_out = next(int(a.value) for a in step.decoded.args if a.name.endswith(("amountOutMinimum", "amountOutMin")))
            floor = out.expected * (10_000 - rec.slippage_bps) // 10_000
            # a min-out that follows a referenced input is pinned at the largest input allowed (price impact makes it a
            # little lower per unit) and rounded down: never above expected * (1 - slippage), a hair below at most
            assert 0 < floor - floor // 10**3 - 1 <= min_out <= floor
            assert [g.value for g in step.guards if g.kind == "min_out"] == [min_out]
            [gain] = [e for e in step.effects if e.account == plan.wallet and e.token == out.token]
            assert gain.delta == out.expected and gain.tolerance.kind == "min_out" and gain.tolerance.value == min_out
            assert out.min <= min_out <= out.expected <= out.max
        # 4. the wallet never spends what it does not have
        for e in step.effects:
            if e.account == plan.wallet and e.token_address in UNDERLYING:
                wallet[e.token] += e.delta
        assert min(wallet.values()) >= 0, f"after {step.id} the wallet would hold {wallet}"
    # 5. where it went
    final = rec.to_token or rec.token
    wallet_net = {s: net[(plan.wallet, s)] for s in DECIMALS}
    venues = {k: v for k, v in net.items() if k[0] != plan.wallet and v and "pool" not in _label(plan, k[0])}
    if rec.from_protocol in VENUES:
        [moved] = [-v for (account, token), v in venues.items() if v < 0 and token == rec.token]
        if rec.is_all:
            held = raw(rec.token, PORTFOLIO.positions[rec.from_protocol][rec.token])
            assert held - 2 <= moved <= held
        else:
            assert moved == raw(rec.token, rec.amount)
        if rec.to_protocol is not None or rec.to_token is not None:
            assert 0 <= wallet_net[rec.token] <= (moved * LP_DUST_BPS // 10_000 if rec.to_protocol == "aerodrome" else 0)
        else:
            assert wallet_net[rec.token] == moved, "an exit leaves the amount in the wallet"
    elif rec.from_protocol is None:
        spent = raw(rec.token, rec.amount)
        assert -spent <= wallet_net[rec.token] <= -spent + (spent * LP_DUST_BPS // 10_000 if rec.to_protocol == "aerodrome" else 0)
    if rec.to_protocol in VENUES:
        [gain] = [v for (account, token), v in venues.items() if v > 0 and token == final]
        swaps = [s for s in plan.steps if s.kind == "swap"]
        if rec.from_protocol == "aerodrome":
            remove = next(s for s in plan.steps if s.kind == "remove_liquidity")
            assert gain == remove.outputs[f"out_{final}"].expected + swaps[-1].outputs["amount_out"].expected
        elif rec.to_token:
            assert gain == swaps[-1].outputs["amount_out"].expected
        elif rec.from_protocol in VENUES:
            assert gain == moved
        else:
            assert gain == raw(rec.token, rec.amount)
        if rec.from_protocol is not None:
            assert wallet_net[final] == 0, "everything withdrawn is deposited"
    elif rec.to_protocol is None and rec.to_token:
        assert wallet_net[final] == [s for s in plan.steps if s.kind == "swap"][-1].outputs["amount_out"].expected


# Entering an LP position, the swapped half arrives short by the 0.30% pool fee (and price impact), so the
# Router keeps the pool's ratio by taking that much less of the kept half, which stays in the wallet.
LP_DUST_BPS = 40


def _label(plan: Plan, account: str) -> str:
    for step in plan.steps:
        for e in step.effects:
            if e.account == account:
                return e.account_label
    return ""


@SETTINGS
@given(recommendations())
def test_random_recommendations_compile_review_and_conserve(rec: Recommendation) -> None:
    event(f"{rec.from_protocol or 'wallet'} -> {rec.to_protocol or 'wallet'}{' + swap' if rec.to_token else ''}")
    plan = compile_plan(rec, chain="base", wallet=WALLET, now=NOW)
    _check(plan, rec)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.lists(recommendations(), min_size=2, max_size=3))
def test_combined_plans_review_and_conserve(recs: list[Recommendation]) -> None:
    """A combined plan of 2-3 recommendations: same review and per-step conservation (spends may exceed the
    wallet when the drawn items together ask for more than it holds; then compiling must refuse, cleanly)."""
    from mammon.errors import InputError

    try:
        plan = compile_plan(recs, chain="base", wallet=WALLET, now=NOW)
    except InputError as exc:
        assert exc.where is not None and exc.where.startswith("recommendation")
        return
    rv = review(plan, now=NOW)
    assert rv.warnings == []
    assert loads(dumps(plan, "json")) == plan
    for step in plan.steps:
        per_token: dict[str, int] = defaultdict(int)
        for e in step.effects:
            if e.token_address in UNDERLYING:
                per_token[e.token] += e.delta
        assert _forwards_assets(step.venue) or all(v == 0 for v in per_token.values()), step.id
    assert plan.policy.slippage_bps == min(r.slippage_bps for r in recs)
    assert Decimal(plan.totals.cost_eth) > 0
