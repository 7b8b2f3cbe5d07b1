"""Uniswap V3 SwapRouter02 `exactInputSingle` against full-range pools modelled by virtual reserves.

A pool is x*y=k on its virtual reserves (`venues.uniswap_v3.pools."A/B"`: reserve_a / reserve_b in the
chain config's token order), which is exactly V3 math for full-range liquidity. Per swap:

    fee      = ceil(amountIn * fee / 1e6)                  (the fee tier in ppm, rounded up as V3 does)
    out      = (amountIn - fee) * r_out // (r_in + amountIn - fee)
    reserves : r_in += amountIn - fee, r_out -= out         (fees accrue outside the virtual reserves)

The pool address (CREATE2 from factory, init code hash, tokens, fee, or `address` in the chain config)
holds the reserves as real token balances: the output leaves it, the input arrives through the
router's callback, which pulls tokenIn from msg.sender with transferFrom (allowance to the router; a
failed pull reverts 'STF' as TransferHelper does, the token's reason shown in brackets).
Rules: amountIn 0 means "the router's own balance" (Constants.CONTRACT_BALANCE) and an empty swap
reverts 'AS'; output below amountOutMinimum reverts 'Too little received'; a non-zero
sqrtPriceLimitX96 must lie on the right side of the price ('SPL') and stops the swap there (partial
fill); recipient address(1) = msg.sender and address(2) = the router; a pair/fee without a pool
reverts (a call to an address without code).
"""

from __future__ import annotations

import math
from math import isqrt
from typing import Any


from mammon.sim.core import Chain, Contract, Msg, SimRevert, addr, external

Q96 = 2**96
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
MSG_SENDER = "0x0000000000000000000000000000000000000001"
ADDRESS_THIS = "0x0000000000000000000000000000000000000002"


class V3Pool(Contract):
    kind = "uniswap_pool"
    abis = ("uniswap_v3/UniswapV3Pool",)

    def __init__(self, chain: Chain, address: str, label: str, *, token0: str, token1: str, fee: int) -> None:
        super().__init__(chain, address, label)
        self.token0, self.token1, self.fee_ = addr(token0), addr(token1), fee

    def reserves(self) -> tuple[int, int]:
        return self.sload("reserve0"), self.sload("reserve1")

    def sqrt_price(self) -> int:
        r0, r1 = self.reserves()
        return isqrt((r1 << 192) // r0) if r0 and r1 else 0

    def swap(self, router: Contract, recipient: str, zero_for_one: bool, amount_in: int, limit: int, payer: str) -> int:
        """UniswapV3Pool.swap for an exact input; pays out, then collects the input via the router."""
        self.chain.charge(self.kind, "swap")
        if amount_in == 0:
            raise SimRevert.error("AS")
        r0, r1 = self.reserves()
        r_in, r_out = (r0, r1) if zero_for_one else (r1, r0)
        token_in, token_out = (self.token0, self.token1) if zero_for_one else (self.token1, self.token0)
        net_in = amount_in - (-(-amount_in * self.fee_ // 1_000_000))
        consumed = amount_in
        if limit:
            current = self.sqrt_price()
            if zero_for_one and not (MIN_SQRT_RATIO < limit < current) or not zero_for_one and not (current < limit < MAX_SQRT_RATIO):
                raise SimRevert.error("SPL")
            liquidity = isqrt(r0 * r1)
            reach = (liquidity * Q96 // limit - r0) if zero_for_one else (liquidity * limit // Q96 - r1)
            if net_in > max(reach, 0):
                net_in = max(reach, 0)
                consumed = net_in + -(-net_in * self.fee_ // (1_000_000 - self.fee_))
        out = net_in * r_out // (r_in + net_in) if r_in + net_in else 0
        if out:
            self.call(token_out, "transfer", to=recipient, value=out)
        before = int(self.call(token_in, "balanceOf", account=self.address))
        router_pay(router, token_in, payer, self.address, consumed)
        if int(self.call(token_in, "balanceOf", account=self.address)) < before + consumed:
            raise SimRevert.error("IIA")
        new_in, new_out = r_in + net_in, r_out - out
        self.sstore(new_in if zero_for_one else new_out, "reserve0")
        self.sstore(new_out if zero_for_one else new_in, "reserve1")
        self.emit("Swap", sender=router.address, recipient=addr(recipient),
                  amount0=consumed if zero_for_one else -out, amount1=-out if zero_for_one else consumed)
        return out

    @external(view=True)
    def slot0(self, msg: Msg) -> tuple[Any, ...]:
        sqrt_price = self.sqrt_price()
        tick = math.floor(math.log((sqrt_price / Q96) ** 2) / math.log(1.0001)) if sqrt_price else 0
        return (sqrt_price, tick, 0, 1, 1, 0, True)

    @external(view=True)
    def liquidity(self, msg: Msg) -> int:
        r0, r1 = self.reserves()
        return min(isqrt(r0 * r1), 2**128 - 1)

    @external(view=True)
    def fee(self, msg: Msg) -> int:
        return self.fee_


def router_pay(router: Contract, token: str, payer: str, recipient: str, value: int) -> None:
    """PeripheryPayments.pay: from the router's own balance, or transferFrom(payer) with 'STF' on failure."""
    if addr(payer) == router.address:
        router.call(token, "transfer", to=recipient, value=value)
        return
    try:
        router.call(token, "transferFrom", from_=payer, to=recipient, value=value)
    except SimRevert as exc:
        raise SimRevert.error("STF", detail=exc.reason) from None


class SwapRouter02(Contract):
    kind = "uniswap_router"
    abis = ("uniswap_v3/SwapRouter02",)

    def __init__(self, chain: Chain, address: str, label: str) -> None:
        super().__init__(chain, address, label)
        self.pools: dict[tuple[str, str, int], V3Pool] = {}

    def add_pool(self, pool: V3Pool) -> None:
        self.pools[(pool.token0, pool.token1, pool.fee_)] = pool

    @external(payable=True)
    def exactInputSingle(self, msg: Msg, params: dict[str, Any]) -> int:
        if msg.value:
            raise SimRevert.empty("sim: exactInputSingle with native ETH (WETH wrapping) is not modelled")
        token_in, token_out, fee = addr(params["tokenIn"]), addr(params["tokenOut"]), int(params["fee"])
        recipient = addr(params["recipient"])
        recipient = msg.sender if recipient == MSG_SENDER else self.address if recipient == ADDRESS_THIS else recipient
        amount_in, payer = int(params["amountIn"]), msg.sender
        if amount_in == 0:  # Constants.CONTRACT_BALANCE: swap what the router itself holds
            amount_in, payer = int(self.call(token_in, "balanceOf", account=self.address)), self.address
        key = (min(token_in, token_out, key=lambda a: int(a, 16)), max(token_in, token_out, key=lambda a: int(a, 16)), fee)
        pool = self.pools.get(key)
        if pool is None or token_in == token_out:
            raise SimRevert.empty(f"no Uniswap V3 pool for this pair with fee {fee} (the call hits an address without code)")
        self.chain.touch(pool.address)
        out = pool.swap(self, recipient, token_in == pool.token0, amount_in, int(params["sqrtPriceLimitX96"]), payer)
        if out < int(params["amountOutMinimum"]):
            raise SimRevert.error("Too little received")
        return out
