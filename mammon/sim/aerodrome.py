"""Aerodrome v2 Router and volatile Pools, following the devnet stand-ins `AerodromeRouter.sol` and
`AerodromePool.sol` rule for rule (custom errors included), which follow Aerodrome's own contracts.

Router (`ensure(deadline)`: deadline < block.timestamp reverts Expired()):
- `swapExactTokensForTokens(amountIn, amountOutMin, routes, to, deadline)`: amounts = getAmountsOut
  hop by hop; the last below amountOutMin reverts InsufficientOutputAmount(); pulls routes[0].from from
  msg.sender into the first pool (transferFrom, allowance to the Router), each pool pays the next one.
- `addLiquidity`: stable reverts StablePoolsNotSupported(); Desired < Min reverts
  InsufficientAmountADesired()/BDesired(); the optimal amounts (quoteLiquidity = a * rB // rA) must
  meet the mins (InsufficientAmountA()/B()); tokens go to the pool, which mints
  min(a * S // rA, b * S // rB) LP (the first deposit mints sqrt(a * b) - 1000 and locks 1000 at address(1)).
- `removeLiquidity`: pulls the LP token (the pool address) from msg.sender with transferFrom, so the
  sender must have approved the pool to the Router; amounts = liquidity * balance // S; mins as above.
- Route.factory: address(0) or the chain config's pool_factory, else PoolFactoryDoesNotExist();
  `stable: true` reverts StablePoolsNotSupported(); an unknown pair reverts PoolDoesNotExist().
Pool: volatile x*y=k, fee 30 bps taken from the input (amountIn -= amountIn * 30 // 10000;
out = amountIn * rOut // (rIn + amountIn)), the fee stays in the reserves; `swap` checks
InsufficientLiquidity(), InvalidTo() and K().
"""

from __future__ import annotations

from math import isqrt
from typing import Any

from mammon.hashing import keccak256 as keccak
from mammon.sim.core import ZERO_ADDRESS, Chain, Contract, Msg, SimRevert, addr, external
from mammon.sim.tokens import ERC20
from mammon.types import checksum_address

MINIMUM_LIQUIDITY = 10**3
FEE_BPS = 30
DEAD = "0x0000000000000000000000000000000000000001"


def sort_tokens(token_a: str, token_b: str) -> tuple[str, str]:
    a, b = addr(token_a), addr(token_b)
    if a == b:
        raise SimRevert.custom("SameAddresses")
    token0, token1 = (a, b) if int(a, 16) < int(b, 16) else (b, a)
    if token0 == ZERO_ADDRESS:
        raise SimRevert.custom("ZeroAddress")
    return token0, token1


class AerodromePool(ERC20):
    kind = "aerodrome_pool"
    abis = ("aerodrome/Pool", "erc20/ERC20")

    def __init__(self, chain: Chain, address: str, label: str, *, token0: str, token1: str) -> None:
        super().__init__(chain, address, label, symbol=label, decimals=18)
        self.token0_, self.token1_ = addr(token0), addr(token1)

    def reserves(self) -> tuple[int, int]:
        return self.sload("reserve0"), self.sload("reserve1")

    def _balances(self) -> tuple[int, int]:
        return (int(self.call(self.token0_, "balanceOf", account=self.address)),
                int(self.call(self.token1_, "balanceOf", account=self.address)))

    def _update(self, balance0: int, balance1: int) -> None:
        self.sstore(balance0, "reserve0")
        self.sstore(balance1, "reserve1")
        self.sstore(self.chain.timestamp, "blockTimestampLast")
        self.emit("Sync", reserve0=balance0, reserve1=balance1)

    def amount_out(self, amount_in: int, token_in: str) -> int:
        r0, r1 = self.reserves()
        r_in, r_out = (r0, r1) if addr(token_in) == self.token0_ else (r1, r0)
        amount_in -= amount_in * FEE_BPS // 10_000
        return amount_in * r_out // (r_in + amount_in) if r_in + amount_in else 0

    def mint(self, to: str) -> int:
        self.chain.charge(self.kind, "mint")
        r0, r1 = self.reserves()
        b0, b1 = self._balances()
        a0, a1 = b0 - r0, b1 - r1
        supply = self.supply()
        if supply == 0:
            liquidity = isqrt(a0 * a1) - MINIMUM_LIQUIDITY
            if liquidity < 0:
                raise SimRevert.panic(0x11)
            self.mint_to(DEAD, MINIMUM_LIQUIDITY)
        else:
            liquidity = min(a0 * supply // r0, a1 * supply // r1)
        if liquidity == 0:
            raise SimRevert.custom("InsufficientLiquidityMinted")
        self.mint_to(to, liquidity)
        self._update(b0, b1)
        return liquidity

    def burn(self, to: str) -> tuple[int, int]:
        self.chain.charge(self.kind, "burn")
        b0, b1 = self._balances()
        liquidity, supply = self.balance(self.address), self.supply()
        amount0, amount1 = liquidity * b0 // supply, liquidity * b1 // supply
        if amount0 == 0 or amount1 == 0:
            raise SimRevert.custom("InsufficientLiquidityBurned")
        self.burn_from(self.address, liquidity)
        self.call(self.token0_, "transfer", to=to, value=amount0)
        self.call(self.token1_, "transfer", to=to, value=amount1)
        self._update(*self._balances())
        return amount0, amount1

    def swap(self, amount0_out: int, amount1_out: int, to: str) -> None:
        self.chain.charge(self.kind, "swap")
        if amount0_out == 0 and amount1_out == 0:
            raise SimRevert.custom("InsufficientOutputAmount")
        r0, r1 = self.reserves()
        if amount0_out >= r0 or amount1_out >= r1:
            raise SimRevert.custom("InsufficientLiquidity")
        if addr(to) in (self.token0_, self.token1_):
            raise SimRevert.custom("InvalidTo")
        if amount0_out:
            self.call(self.token0_, "transfer", to=to, value=amount0_out)
        if amount1_out:
            self.call(self.token1_, "transfer", to=to, value=amount1_out)
        b0, b1 = self._balances()
        in0 = b0 - (r0 - amount0_out) if b0 > r0 - amount0_out else 0
        in1 = b1 - (r1 - amount1_out) if b1 > r1 - amount1_out else 0
        if in0 == 0 and in1 == 0:
            raise SimRevert.custom("InsufficientInputAmount")
        if (b0 - in0 * FEE_BPS // 10_000) * (b1 - in1 * FEE_BPS // 10_000) < r0 * r1:
            raise SimRevert.custom("K")
        self._update(b0, b1)
        self.emit("Swap", sender=ZERO_ADDRESS, to=addr(to), amount0In=in0, amount1In=in1, amount0Out=amount0_out, amount1Out=amount1_out)

    # ------------------------------------------------------------------ views

    @external(view=True)
    def getReserves(self, msg: Msg) -> tuple[int, int, int]:
        r0, r1 = self.reserves()
        return r0, r1, self.sload("blockTimestampLast")

    @external(view=True)
    def token0(self, msg: Msg) -> str:
        return self.token0_

    @external(view=True)
    def token1(self, msg: Msg) -> str:
        return self.token1_


class AerodromeRouter(Contract):
    kind = "aerodrome_router"
    abis = ("aerodrome/Router",)

    def __init__(self, chain: Chain, address: str, label: str, *, factory: str) -> None:
        super().__init__(chain, address, label)
        self.factory = addr(factory)
        self.pools: dict[tuple[str, str], AerodromePool] = {}

    def add_pool(self, pool: AerodromePool) -> None:
        key = (pool.token0_, pool.token1_)
        self.pools[key] = pool
        self.chain.on_revert(lambda: self.pools.pop(key, None))

    # ------------------------------------------------------------------ factory side

    def _ensure(self, deadline: int) -> None:
        if deadline < self.chain.timestamp:
            raise SimRevert.custom("Expired")

    def _check_factory(self, factory: str) -> None:
        if addr(factory) not in (ZERO_ADDRESS, self.factory):
            raise SimRevert.custom("PoolFactoryDoesNotExist")

    def _get_pool(self, token_a: str, token_b: str) -> AerodromePool | None:
        pool = self.pools.get(sort_tokens(token_a, token_b))
        if pool is not None:
            self.chain.touch(pool.address)
        return pool

    def _pool_for(self, token_a: str, token_b: str, stable: bool, factory: str) -> AerodromePool | None:
        self._check_factory(factory)
        if stable:
            raise SimRevert.custom("StablePoolsNotSupported")
        return self._get_pool(token_a, token_b)

    def _create_pool(self, token_a: str, token_b: str) -> AerodromePool:
        token0, token1 = sort_tokens(token_a, token_b)
        salt = keccak(bytes.fromhex(token0[2:]) + bytes.fromhex(token1[2:]) + b"\x00")
        address = checksum_address(keccak(b"\xff" + bytes.fromhex(self.factory[2:]) + salt)[12:])
        pool = AerodromePool(self.chain, address, f"vAMM pool {token0[:8]}/{token1[:8]}", token0=token0, token1=token1)
        self.chain.deploy(pool)
        self.add_pool(pool)
        self.emit("PoolCreated", token0=token0, token1=token1, stable=False, pool=pool.address)
        return pool

    def _reserves(self, token_a: str, token_b: str, pool: AerodromePool | None) -> tuple[int, int]:
        if pool is None:
            return 0, 0
        token0, _ = sort_tokens(token_a, token_b)
        r0, r1 = pool.reserves()
        return (r0, r1) if addr(token_a) == token0 else (r1, r0)

    @staticmethod
    def _quote_liquidity(amount_a: int, reserve_a: int, reserve_b: int) -> int:
        if amount_a == 0:
            raise SimRevert.custom("InsufficientAmountA")
        if reserve_a == 0 or reserve_b == 0:
            raise SimRevert.custom("InsufficientLiquidity")
        return amount_a * reserve_b // reserve_a

    def _amounts_out(self, amount_in: int, routes: list[dict[str, Any]]) -> list[int]:
        if not routes:
            raise SimRevert.custom("InvalidPath")
        amounts = [amount_in]
        for route in routes:
            pool = self._pool_for(route["from"], route["to"], bool(route["stable"]), route["factory"])
            if pool is None:
                raise SimRevert.custom("PoolDoesNotExist")
            amounts.append(pool.amount_out(amounts[-1], route["from"]))
        return amounts

    # ------------------------------------------------------------------ liquidity

    @external
    def addLiquidity(self, msg: Msg, tokenA: str, tokenB: str, stable: bool, amountADesired: int, amountBDesired: int,
                     amountAMin: int, amountBMin: int, to: str, deadline: int) -> tuple[int, int, int]:
        self._ensure(deadline)
        if stable:
            raise SimRevert.custom("StablePoolsNotSupported")
        if amountADesired < amountAMin:
            raise SimRevert.custom("InsufficientAmountADesired")
        if amountBDesired < amountBMin:
            raise SimRevert.custom("InsufficientAmountBDesired")
        pool = self._get_pool(tokenA, tokenB) or self._create_pool(tokenA, tokenB)
        reserve_a, reserve_b = self._reserves(tokenA, tokenB, pool)
        if reserve_a == 0 and reserve_b == 0:
            amount_a, amount_b = amountADesired, amountBDesired
        else:
            b_optimal = self._quote_liquidity(amountADesired, reserve_a, reserve_b)
            if b_optimal <= amountBDesired:
                if b_optimal < amountBMin:
                    raise SimRevert.custom("InsufficientAmountB")
                amount_a, amount_b = amountADesired, b_optimal
            else:
                a_optimal = self._quote_liquidity(amountBDesired, reserve_b, reserve_a)
                if a_optimal > amountADesired:
                    raise SimRevert.panic(0x01)
                if a_optimal < amountAMin:
                    raise SimRevert.custom("InsufficientAmountA")
                amount_a, amount_b = a_optimal, amountBDesired
        self.call(tokenA, "transferFrom", from_=msg.sender, to=pool.address, value=amount_a)
        self.call(tokenB, "transferFrom", from_=msg.sender, to=pool.address, value=amount_b)
        liquidity = pool.mint(to)
        return amount_a, amount_b, liquidity

    @external
    def removeLiquidity(self, msg: Msg, tokenA: str, tokenB: str, stable: bool, liquidity: int, amountAMin: int,
                        amountBMin: int, to: str, deadline: int) -> tuple[int, int]:
        self._ensure(deadline)
        pool = self._pool_for(tokenA, tokenB, stable, ZERO_ADDRESS)
        if pool is None:
            raise SimRevert.custom("PoolDoesNotExist")
        self.call(pool.address, "transferFrom", from_=msg.sender, to=pool.address, value=liquidity)
        amount0, amount1 = pool.burn(to)
        token0, _ = sort_tokens(tokenA, tokenB)
        amount_a, amount_b = (amount0, amount1) if addr(tokenA) == token0 else (amount1, amount0)
        if amount_a < amountAMin:
            raise SimRevert.custom("InsufficientAmountA")
        if amount_b < amountBMin:
            raise SimRevert.custom("InsufficientAmountB")
        return amount_a, amount_b

    # ------------------------------------------------------------------ swaps

    @external
    def swapExactTokensForTokens(self, msg: Msg, amountIn: int, amountOutMin: int, routes: list[dict[str, Any]], to: str,
                                 deadline: int) -> list[int]:
        self._ensure(deadline)
        amounts = self._amounts_out(amountIn, routes)
        if amounts[-1] < amountOutMin:
            raise SimRevert.custom("InsufficientOutputAmount")
        first = self._pool_for(routes[0]["from"], routes[0]["to"], bool(routes[0]["stable"]), routes[0]["factory"])
        assert first is not None
        self.call(routes[0]["from"], "transferFrom", from_=msg.sender, to=first.address, value=amounts[0])
        for i, route in enumerate(routes):
            token0, _ = sort_tokens(route["from"], route["to"])
            out = amounts[i + 1]
            amount0_out, amount1_out = (0, out) if addr(route["from"]) == token0 else (out, 0)
            if i < len(routes) - 1:
                nxt = routes[i + 1]
                receiver = self._pool_for(nxt["from"], nxt["to"], bool(nxt["stable"]), nxt["factory"])
                receiver_address = receiver.address if receiver else ZERO_ADDRESS
            else:
                receiver_address = addr(to)
            pool = self._pool_for(route["from"], route["to"], bool(route["stable"]), route["factory"])
            assert pool is not None
            pool.swap(amount0_out, amount1_out, receiver_address)
        return amounts

    # ------------------------------------------------------------------ views

    @external(view=True)
    def getAmountsOut(self, msg: Msg, amountIn: int, routes: list[dict[str, Any]]) -> list[int]:
        return self._amounts_out(amountIn, routes)

    @external(view=True)
    def poolFor(self, msg: Msg, tokenA: str, tokenB: str, stable: bool, _factory: str) -> str:
        pool = self._pool_for(tokenA, tokenB, stable, _factory)
        return pool.address if pool else ZERO_ADDRESS

    @external(view=True)
    def defaultFactory(self, msg: Msg) -> str:
        return self.factory

    @external(view=True)
    def quoteAddLiquidity(self, msg: Msg, tokenA: str, tokenB: str, stable: bool, _factory: str, amountADesired: int,
                          amountBDesired: int) -> tuple[int, int, int]:
        pool = self._pool_for(tokenA, tokenB, stable, _factory)
        reserve_a, reserve_b = self._reserves(tokenA, tokenB, pool)
        supply = pool.supply() if pool else 0
        if reserve_a == 0 and reserve_b == 0:
            return amountADesired, amountBDesired, isqrt(amountADesired * amountBDesired) - MINIMUM_LIQUIDITY
        b_optimal = self._quote_liquidity(amountADesired, reserve_a, reserve_b)
        if b_optimal <= amountBDesired:
            amount_a, amount_b = amountADesired, b_optimal
        else:
            amount_a, amount_b = self._quote_liquidity(amountBDesired, reserve_b, reserve_a), amountBDesired
        return amount_a, amount_b, min(amount_a * supply // reserve_a, amount_b * supply // reserve_b)

    @external(view=True)
    def quoteRemoveLiquidity(self, msg: Msg, tokenA: str, tokenB: str, stable: bool, _factory: str, liquidity: int) -> tuple[int, int]:
        pool = self._pool_for(tokenA, tokenB, stable, _factory)
        if pool is None:
            return 0, 0
        reserve_a, reserve_b = self._reserves(tokenA, tokenB, pool)
        supply = pool.supply()
        return liquidity * reserve_a // supply, liquidity * reserve_b // supply
