"""Aerodrome (v2 volatile pools): Router swaps with its Route struct, and LP positions (add/remove).

The Router pulls tokens for swaps and adds, and pulls the LP token itself for `removeLiquidity`
(`IERC20(pool).safeTransferFrom(msg.sender, pool, liquidity)`), so exits approve the pool to the Router.
Every call carries the plan's valid_until as its `deadline`. Stable pools are not supported.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from mammon.chains import ChainConfig
from mammon.compile.amounts import Amount, widen
from mammon.compile.quote import constant_product_out, price_out
from mammon.errors import InputError
from mammon.plan.model import Guard, Tolerance
from mammon.protocols.base import Asset, Draft, Flow, MinOut, Output, PullRule, Requirement, Rule, Spend, Venue
from mammon.types import Address, UInt

VOLATILE_FEE_PPM = 3_000  # 0.30%, the volatile default of Aerodrome's PoolFactory


class PoolEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token_a: str
    token_b: str
    stable: bool = False
    address: Address


class AerodromeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    router: Address
    pool_factory: Address
    voter: Address | None = None
    aero_token: Address | None = None
    pools: list[PoolEntry] = []


class PoolState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reserve_a: UInt
    reserve_b: UInt
    total_supply: UInt

    @model_validator(mode="after")
    def _consistent(self) -> PoolState:
        """A pool holds both tokens and has LP supply, or (before its first deposit) none of the three."""
        if len({self.reserve_a > 0, self.reserve_b > 0, self.total_supply > 0}) > 1:
            raise ValueError(f"reserve_a {self.reserve_a}, reserve_b {self.reserve_b} and total_supply {self.total_supply} must all be "
                             "above 0 (a pool with liquidity) or all 0 (a pool before its first deposit)")
        return self


class AerodromeState(BaseModel):
    """`venues.aerodrome` of a world/market file: reserves and LP supply per volatile pool."""

    model_config = ConfigDict(extra="forbid")
    pools: dict[str, PoolState] = {}  # keyed "A/B" as in the chain config


class Aerodrome(Venue):
    name = "aerodrome"
    display = "Aerodrome"
    Config = AerodromeConfig
    calls = {  # the Router's calls, as review checks them
        "swapExactTokensForTokens(uint256,uint256,(address,address,bool,address)[],address,uint256)": Rule(
            "swap", (r"aerodrome\.router",),
            {r"routes\[\d+\]\.from": "token", r"routes\[\d+\]\.to": "token", r"routes\[\d+\]\.factory": r"aerodrome\.pool_factory", "to": "wallet"},
            pulls=(PullRule("amountIn", "routes[0].from"),), min_outs=(MinOut("amountOutMin", "@last_route_to"),)),
        "addLiquidity(address,address,bool,uint256,uint256,uint256,uint256,address,uint256)": Rule(
            "add_liquidity", (r"aerodrome\.router",), {"tokenA": "token", "tokenB": "token", "to": "wallet"},
            pulls=(PullRule("amountADesired", "tokenA"), PullRule("amountBDesired", "tokenB"))),
        "removeLiquidity(address,address,bool,uint256,uint256,uint256,address,uint256)": Rule(
            "remove_liquidity", (r"aerodrome\.router",), {"tokenA": "token", "tokenB": "token", "to": "wallet"},
            pulls=(PullRule("liquidity", "@lp"),), min_outs=(MinOut("amountAMin", "tokenA"), MinOut("amountBMin", "tokenB"))),
    }
    lp_labels = ("aerodrome.pools.address",)  # a pool is its own LP token: removing liquidity approves it

    @classmethod
    def pool_token(cls, chain: ChainConfig, token_a: str, token_b: str) -> str | None:
        """The LP token (the pool's own address) of the registered pool of two token addresses."""
        symbols = {t.address.lower(): t.symbol for t in chain.tokens}
        pair = {symbols.get(token_a.lower()), symbols.get(token_b.lower())}
        for pool in chain.protocols.get("aerodrome", {}).get("pools", []) or []:
            if isinstance(pool, dict) and {pool.get("token_a"), pool.get("token_b")} == pair and pool.get("address"):
                return str(pool["address"])
        return None
    config: AerodromeConfig
    state: AerodromeState | None

    State = AerodromeState

    def pool_with(self, token: Asset, other: Asset | None = None) -> tuple[PoolEntry, Asset, Asset]:
        """The volatile pool holding `token` (and `other` if given), with its tokens in config order."""
        config = self.config
        for entry in config.pools:
            pair = {entry.token_a, entry.token_b}
            if not entry.stable and token.symbol in pair and (other is None or other.symbol in pair) and len(pair) == 2:
                return entry, self.token(entry.token_a), self.token(entry.token_b)
        wanted = f"{token.symbol}/{other.symbol}" if other else token.symbol
        raise InputError(f"no Aerodrome volatile pool with {wanted} on {self.ctx.chain.name}", where="recommendation.token")

    def lp_token(self, entry: PoolEntry) -> Asset:
        return Asset(f"vAMM-{entry.token_a}/{entry.token_b}", entry.address, 18)

    def pool_state(self, entry: PoolEntry) -> PoolState | None:
        pools = self.state.pools if self.state else {}
        return pools.get(f"{entry.token_a}/{entry.token_b}")

    def moved(self, entry: PoolEntry, deltas: dict[str, int], supply: int = 0) -> None:
        """Later actions of the plan see the pool as this one leaves it (swap fees stay in the reserves)."""
        state = self.pool_state(entry)
        if state is not None:
            state.reserve_a += deltas.get(entry.token_a, 0)
            state.reserve_b += deltas.get(entry.token_b, 0)
            state.total_supply += supply

    def quote(self, entry: PoolEntry, token_in: Asset, token_out: Asset, amount_in: int) -> int:
        state = self.pool_state(entry)
        if state is None:
            return price_out(self.ctx, token_in, token_out, amount_in, VOLATILE_FEE_PPM)
        reserves = (state.reserve_a, state.reserve_b) if token_in.symbol == entry.token_a else (state.reserve_b, state.reserve_a)
        return constant_product_out(amount_in, *reserves, VOLATILE_FEE_PPM, round_fee_up=False)

    def swap(self, token_in: Asset, token_out: Asset, amount: Amount) -> Draft:
        entry, _, _ = self.pool_with(token_in, token_out)
        wallet, router = self.ctx.wallet, self.config.router
        expected = self.quote(entry, token_in, token_out, amount.expected)
        quoted_min, max_out = widen(expected, self.ctx.slippage_bps)
        # The min-out follows the actual input when the input is a reference. It is pinned at the largest input
        # allowed: output per unit input falls as the input grows (price impact), so x * out(max) / max <= out(x)
        # for every x up to max, where pinning at the expected input would ask too much of a larger one.
        top = amount.max if amount.ref is not None else amount.expected
        floor = amount.follow(widen(self.quote(entry, token_in, token_out, top), self.ctx.slippage_bps)[0], at=top)
        min_out = floor.expected
        low = self.quote(entry, token_in, token_out, amount.min) * (10_000 - self.ctx.slippage_bps) // 10_000
        received = Amount(expected, min(low, min_out), max(max_out, self.quote(entry, token_in, token_out, amount.max)))
        self.moved(entry, {token_in.symbol: amount.expected, token_out.symbol: -expected})
        route = {"from": token_in.address, "to": token_out.address, "stable": False, "factory": self.config.pool_factory}
        label = f"Aerodrome {self.lp_token(entry).symbol} pool"
        return Draft(
            kind="swap",
            description=f"Swap {token_in.symbol} for {token_out.symbol} on Aerodrome (volatile pool)",
            target=router,
            target_label="Aerodrome Router",
            abi="aerodrome/Router",
            function="swapExactTokensForTokens",
            args={"amountIn": amount.expected, "amountOutMin": min_out, "routes": [route], "to": wallet, "deadline": self.ctx.deadline},
            arg_tokens={"amountIn": token_in, "amountOutMin": token_out},
            arg_amounts={"amountIn": amount, "amountOutMin": floor},
            spends=[Spend(token_in, router, "Aerodrome Router", amount)],
            flows=[
                Flow(wallet, "wallet", token_in, amount, -1),
                Flow(entry.address, label, token_in, amount, +1),
                Flow(entry.address, label, token_out, received, -1, Tolerance(kind="bps", value=self.ctx.slippage_bps)),
                Flow(wallet, "wallet", token_out, received, +1, Tolerance(kind="min_out", value=min_out)),
            ],
            outputs={"amount_out": Output(token_out, received)},
            guards=[Guard(kind="min_out", token=token_out.symbol, value=min_out, description=f"receive at least amountOutMin of {token_out.symbol}")],
            gas_action="swap",
        )

    def add_liquidity(self, token_a: Asset, token_b: Asset, amount_a: Amount, amount_b: Amount) -> Draft:
        entry, first, second = self.pool_with(token_a, token_b)
        if first.symbol != token_a.symbol:
            token_a, token_b, amount_a, amount_b = token_b, token_a, amount_b, amount_a
        wallet, router, lp = self.ctx.wallet, self.config.router, self.lp_token(entry)
        bps = self.ctx.slippage_bps
        state = self.pool_state(entry)
        used_a, used_b, minted_expected = amount_a, amount_b, 0
        if state is not None and state.reserve_a and state.reserve_b:
            # The Router keeps the pool's ratio (Router._addLiquidity): one side is used in full, the other only
            # as far as the ratio allows. A half swapped in just before arrives short by the fee, so its partner
            # is the side cut down; minimums are taken off the amounts the Router will really use.
            b_optimal = amount_a.expected * state.reserve_b // state.reserve_a
            if b_optimal <= amount_b.expected:
                used_b = amount_b.scaled(b_optimal, amount_b.expected)
            else:
                used_a = amount_a.scaled(amount_b.expected * state.reserve_a // state.reserve_b, amount_a.expected)
            minted_expected = min(used_a.expected * state.total_supply // state.reserve_a, used_b.expected * state.total_supply // state.reserve_b)
        minted = Amount(minted_expected, *widen(minted_expected, bps))
        self.moved(entry, {token_a.symbol: used_a.expected, token_b.symbol: used_b.expected}, minted_expected)
        min_a, min_b = used_a.scaled(10_000 - bps, 10_000), used_b.scaled(10_000 - bps, 10_000)
        label = f"Aerodrome {lp.symbol} pool"
        used = Tolerance(kind="bps", value=bps)
        return Draft(
            kind="add_liquidity",
            description=f"Add {token_a.symbol} and {token_b.symbol} liquidity to Aerodrome {lp.symbol}",
            target=router,
            target_label="Aerodrome Router",
            abi="aerodrome/Router",
            function="addLiquidity",
            args={
                "tokenA": token_a.address, "tokenB": token_b.address, "stable": False,
                "amountADesired": amount_a.expected, "amountBDesired": amount_b.expected,
                "amountAMin": min_a.expected, "amountBMin": min_b.expected, "to": wallet, "deadline": self.ctx.deadline,
            },
            arg_tokens={"amountADesired": token_a, "amountBDesired": token_b, "amountAMin": token_a, "amountBMin": token_b},
            arg_amounts={"amountADesired": amount_a, "amountBDesired": amount_b, "amountAMin": min_a, "amountBMin": min_b},
            spends=[Spend(token_a, router, "Aerodrome Router", amount_a), Spend(token_b, router, "Aerodrome Router", amount_b)],
            flows=[
                Flow(wallet, "wallet", token_a, used_a, -1, used),
                Flow(wallet, "wallet", token_b, used_b, -1, used),
                Flow(entry.address, label, token_a, used_a, +1, used),
                Flow(entry.address, label, token_b, used_b, +1, used),
                Flow(wallet, "wallet", lp, minted, +1, used),
            ],
            gas_action="deposit",
            notes=[] if state else ["LP tokens minted by the Aerodrome add are unknown without the pool's reserves in --prices"],
        )

    def lp_balance(self, entry: PoolEntry, amount: Amount) -> int:
        lp = self.lp_token(entry)
        if not amount.is_all:
            # The recommendation's amount is in units of its token (e.g. USDC), not of the LP token: reading it as
            # LP base units would silently remove a different amount, so only whole-position exits are compiled.
            raise InputError(f"a partial Aerodrome LP exit is not supported: use amount 'all' to remove the whole {lp.symbol} position",
                             where="recommendation.amount")
        key = f"{entry.token_a}/{entry.token_b}"
        held = self.ctx.held_position(self.name, key, lp.decimals)
        if held is None:
            raise InputError(f"amount 'all' needs the Aerodrome {key} LP balance: give a portfolio in --prices or use --rpc", where="recommendation.amount")
        if held == 0:
            raise InputError(f"the wallet holds no Aerodrome {key} LP tokens", where="recommendation.amount")
        return held

    def remove_liquidity(self, token_a: Asset, token_b: Asset, amount: Amount) -> Draft:
        entry, first, second = self.pool_with(token_a, token_b)
        wallet, router, lp = self.ctx.wallet, self.config.router, self.lp_token(entry)
        liquidity = self.lp_balance(entry, amount)
        state = self.pool_state(entry)
        if state is None:
            raise InputError(f"removing Aerodrome liquidity needs the {entry.token_a}/{entry.token_b} pool reserves in --prices (venues.aerodrome.pools), or --rpc", where="--prices")
        if liquidity > state.total_supply:
            raise InputError(f"the wallet's {liquidity} raw {entry.token_a}/{entry.token_b} LP is more than the pool's whole LP supply "
                             f"({state.total_supply}): the market's pool state and holdings disagree", where="--prices")
        bps = self.ctx.slippage_bps
        out_a = liquidity * state.reserve_a // state.total_supply
        out_b = liquidity * state.reserve_b // state.total_supply
        got_a, got_b = Amount(out_a, *widen(out_a, bps)), Amount(out_b, *widen(out_b, bps))
        self.moved(entry, {first.symbol: -out_a, second.symbol: -out_b}, -liquidity)
        label = f"Aerodrome {lp.symbol} pool"
        used = Tolerance(kind="bps", value=bps)
        lp_amount = Amount.exact(liquidity)
        return Draft(
            kind="remove_liquidity",
            description=f"Remove {'all ' if amount.is_all else ''}liquidity from Aerodrome {lp.symbol}",
            target=router,
            target_label="Aerodrome Router",
            abi="aerodrome/Router",
            function="removeLiquidity",
            args={
                "tokenA": first.address, "tokenB": second.address, "stable": False, "liquidity": liquidity,
                "amountAMin": got_a.min, "amountBMin": got_b.min, "to": wallet, "deadline": self.ctx.deadline,
            },
            arg_tokens={"liquidity": lp, "amountAMin": first, "amountBMin": second},
            spends=[Spend(lp, router, "Aerodrome Router", lp_amount)],
            flows=[
                Flow(wallet, "wallet", lp, lp_amount, -1),
                Flow(wallet, "wallet", first, got_a, +1, used),
                Flow(wallet, "wallet", second, got_b, +1, used),
                Flow(entry.address, label, first, got_a, -1, used),
                Flow(entry.address, label, second, got_b, -1, used),
            ],
            outputs={f"out_{first.symbol}": Output(first, got_a), f"out_{second.symbol}": Output(second, got_b)},
            guards=[Guard(kind="min_out", token=first.symbol, value=got_a.min, description=f"amountAMin of {first.symbol}"),
                    Guard(kind="min_out", token=second.symbol, value=got_b.min, description=f"amountBMin of {second.symbol}")],
            requires=[Requirement(lp, wallet, liquidity, f"wallet holds the {lp.symbol} LP tokens it removes")],
            gas_action="withdraw",
        )
