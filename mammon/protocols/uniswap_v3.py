"""Uniswap V3 swaps through SwapRouter02 `exactInputSingle` (the 7-field struct: no deadline field).

`amountOutMinimum` is the expected output less `slippage_bps`. The expected output comes from the pool
state in the market snapshot (virtual reserves of full-range liquidity) or, failing that, USD prices.
Expiry is enforced by mammon before sending (the plan's valid_until), since the call has no deadline.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mammon.abi import abi_encode
from mammon.compile.amounts import Amount, widen
from mammon.compile.quote import constant_product_out, price_out
from mammon.errors import InputError
from mammon.hashing import keccak256
from mammon.plan.model import Guard, Tolerance
from mammon.protocols.base import Asset, Draft, Flow, MinOut, Output, PullRule, Rule, Spend, Venue
from mammon.types import Address, Bytes32, UInt, create2_address


class PoolEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token_a: str
    token_b: str
    fee: int
    address: Address | None = None


class UniswapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    factory: Address
    swap_router02: Address
    pool_init_code_hash: Bytes32 | None = None
    pools: list[PoolEntry] = []
    quoter_v2: Address | None = None
    universal_router: Address | None = None


class PoolState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reserve_a: UInt  # virtual reserves of token_a / token_b as listed in the chain config
    reserve_b: UInt


class UniswapState(BaseModel):
    """`venues.uniswap_v3` of a world/market file: full-range virtual reserves per pool."""

    model_config = ConfigDict(extra="forbid")
    pools: dict[str, PoolState] = {}  # keyed "A/B" as in the chain config


def pool_address(factory: str, init_code_hash: str, token_x: str, token_y: str, fee: int) -> str:
    """CREATE2 address of a V3 pool, as periphery's PoolAddress.computeAddress derives it."""
    token0, token1 = sorted([token_x, token_y], key=lambda a: int(a, 16))
    salt = keccak256(abi_encode(["address", "address", "uint24"], [token0, token1, fee]))
    return create2_address(factory, salt, bytes.fromhex(init_code_hash.removeprefix("0x")))


class UniswapV3(Venue):
    name = "uniswap_v3"
    display = "Uniswap V3"
    aliases = ("uniswap",)
    Config = UniswapConfig
    calls = {  # SwapRouter02's call, as review checks it
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))": Rule(
            "swap", (r"uniswap_v3\.swap_router02",),
            {r"params\.tokenIn": "token", r"params\.tokenOut": "token", r"params\.recipient": "wallet"},
            pulls=(PullRule("params.amountIn", "params.tokenIn"),), min_outs=(MinOut("params.amountOutMinimum", "params.tokenOut"),)),
    }
    config: UniswapConfig
    state: UniswapState | None

    State = UniswapState

    def pool(self, token_in: Asset, token_out: Asset) -> tuple[PoolEntry, str]:
        config = self.config
        for entry in config.pools:
            if {entry.token_a, entry.token_b} == {token_in.symbol, token_out.symbol}:
                if entry.address:
                    return entry, entry.address
                if not config.pool_init_code_hash:
                    raise InputError("uniswap_v3 needs pool addresses or pool_init_code_hash", where=f"chain {self.ctx.chain.name}")
                a, b = self.token(entry.token_a), self.token(entry.token_b)
                return entry, pool_address(config.factory, config.pool_init_code_hash, a.address, b.address, entry.fee)
        raise InputError(f"no Uniswap V3 pool for {token_in.symbol}/{token_out.symbol} on {self.ctx.chain.name}", where="recommendation.to_token")

    def moved(self, entry: PoolEntry, token_in: Asset, amount_in: int, amount_out: int) -> None:
        """Later swaps of the plan see the pool as this one leaves it (V3 fees accrue outside the reserves)."""
        state = self.state.pools.get(f"{entry.token_a}/{entry.token_b}") if self.state else None
        if state is None:
            return
        net_in = amount_in - -(-amount_in * entry.fee // 1_000_000)
        if token_in.symbol == entry.token_a:
            state.reserve_a, state.reserve_b = state.reserve_a + net_in, state.reserve_b - amount_out
        else:
            state.reserve_a, state.reserve_b = state.reserve_a - amount_out, state.reserve_b + net_in

    def quote(self, entry: PoolEntry, token_in: Asset, token_out: Asset, amount_in: int) -> int:
        pools = self.state.pools if self.state else {}
        state = pools.get(f"{entry.token_a}/{entry.token_b}")
        if state is None:
            return price_out(self.ctx, token_in, token_out, amount_in, entry.fee)
        reserves = (state.reserve_a, state.reserve_b) if token_in.symbol == entry.token_a else (state.reserve_b, state.reserve_a)
        return constant_product_out(amount_in, *reserves, entry.fee, round_fee_up=True)

    def swap(self, token_in: Asset, token_out: Asset, amount: Amount) -> Draft:
        entry, pool = self.pool(token_in, token_out)
        wallet, router = self.ctx.wallet, self.config.swap_router02
        expected = self.quote(entry, token_in, token_out, amount.expected)
        quoted_min, max_out = widen(expected, self.ctx.slippage_bps)
        # The min-out follows the actual input when the input is a reference. It is pinned at the largest input
        # allowed: output per unit input falls as the input grows (price impact), so x * out(max) / max <= out(x)
        # for every x up to max, where pinning at the expected input would ask too much of a larger one.
        top = amount.max if amount.ref is not None else amount.expected
        floor = amount.follow(widen(self.quote(entry, token_in, token_out, top), self.ctx.slippage_bps)[0], at=top)
        min_out = floor.expected
        low_in_out = self.quote(entry, token_in, token_out, amount.min) * (10_000 - self.ctx.slippage_bps) // 10_000
        received = Amount(expected, min(low_in_out, min_out), max(max_out, self.quote(entry, token_in, token_out, amount.max)))
        self.moved(entry, token_in, amount.expected, expected)
        tolerance = Tolerance(kind="min_out", value=min_out)
        return Draft(
            kind="swap",
            description=f"Swap {token_in.symbol} for {token_out.symbol} on Uniswap V3 ({entry.fee / 10_000:g}% pool)",
            target=router,
            target_label="Uniswap SwapRouter02",
            abi="uniswap_v3/SwapRouter02",
            function="exactInputSingle",
            args={"params": {
                "tokenIn": token_in.address, "tokenOut": token_out.address, "fee": entry.fee, "recipient": wallet,
                "amountIn": amount.expected, "amountOutMinimum": min_out, "sqrtPriceLimitX96": 0,
            }},
            arg_tokens={"params.amountIn": token_in, "params.amountOutMinimum": token_out},
            arg_amounts={"params.amountIn": amount, "params.amountOutMinimum": floor},
            spends=[Spend(token_in, router, "Uniswap SwapRouter02", amount)],
            flows=[
                Flow(wallet, "wallet", token_in, amount, -1),
                Flow(pool, f"Uniswap V3 {entry.token_a}/{entry.token_b} pool", token_in, amount, +1),
                Flow(pool, f"Uniswap V3 {entry.token_a}/{entry.token_b} pool", token_out, received, -1, Tolerance(kind="bps", value=self.ctx.slippage_bps)),
                Flow(wallet, "wallet", token_out, received, +1, tolerance),
            ],
            outputs={"amount_out": Output(token_out, received)},
            guards=[Guard(kind="min_out", token=token_out.symbol, value=min_out, description=f"receive at least amountOutMinimum of {token_out.symbol}")],
            gas_action="swap",
        )
