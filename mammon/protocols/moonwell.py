"""Moonwell mTokens (Compound v2): `mint`, `redeemUnderlying`, and `redeem(max)` to withdraw everything.

Compound-style calls report most failures as a non-zero return code instead of reverting, so every
call carries a `return_code == 0` guard that the runner checks. Conversions truncate like MToken.sol:
mTokens = underlying * 1e18 / exchangeRate, underlying = mTokens * exchangeRate / 1e18.

The exchange rate grows every second at the market's supply rate (`supplyRatePerTimestamp()`, read with
--rpc; `venues.moonwell.markets.<SYM>.supply_rate` in a market file): the call accrues interest first, so it
converts at the rate of its block, not the plan's. The mTokens a mint gives or a `redeemUnderlying` burns,
and the underlying a redeem-all pays, may differ from the plan's by the interest at that rate over the
plan's validity window (`with_interest`); the rate preconditions pin the rate between the plan's and the
plan's plus that interest (read with `exchangeRateCurrent()`, which accrues to the block being read).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from mammon.chains import ChainConfig
from mammon.compile.amounts import ALL, Amount, widen
from mammon.errors import InputError
from mammon.plan.model import Guard, Tolerance
from mammon.protocols.base import (SECONDS_PER_YEAR, Asset, Draft, Output, PullRule, RateCheck, Requirement, Rule, Spend, Venue,
                                   EXACT, accrual, lending_flows, rate_bounds, with_interest)
from mammon.types import Address, UInt

EXP_SCALE = 10**18
ONE_WEI = Tolerance(kind="wei", value=1)  # mToken amounts truncate once
NO_ERROR = Guard(kind="return_code", value=0, description="Compound error code must be 0 (NO_ERROR); mTokens return codes instead of reverting")


class MoonwellConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    markets: dict[str, Address]
    comptroller: Address | None = None
    weth_router: Address | None = None
    m_token_decimals: int = Field(8, ge=0, le=36)  # as a chain token's decimals (a plan holds at most 77)
    redeems_native: list[str] = []


class MarketState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exchange_rate: UInt = Field(gt=0, description="underlying raw per mToken raw, scaled by 1e18 (exchangeRateCurrent()); above 0")
    supply_rate: UInt = Field(0, description="per second, 1e18 = 100% (the market's supplyRatePerTimestamp()): how fast the exchange rate grows; 0 keeps it constant")


def yearly_ray(per_second: int) -> int:
    """A per-second mantissa (1e18 = 100%) as a yearly ray (1e27 = 100%), the unit `with_interest` takes."""
    return per_second * SECONDS_PER_YEAR * 10**9


class MoonwellState(BaseModel):
    """`venues.moonwell` of a world/market file (the compiler's rates, the simulator's markets)."""

    model_config = ConfigDict(extra="forbid")
    markets: dict[str, MarketState] = {}  # keyed by underlying symbol


_MARKET = r"moonwell\.markets\.[^.]+"


@lru_cache(maxsize=256)
def _growth(rate: int, yearly: int, window: int) -> Tolerance:
    """How far an exchange rate can grow within the plan's window (`with_interest` of the rate itself): the same
    (immutable) tolerance for every step on one market of a plan."""
    return with_interest(EXACT, rate, yearly, window)


class Moonwell(Venue):
    name = "moonwell"
    display = "Moonwell"
    Config = MoonwellConfig
    calls = {  # the mTokens' calls, as review checks them
        "mint(uint256)": Rule("deposit", (_MARKET,), pulls=(PullRule("mintAmount", "@underlying"),)),
        "redeem(uint256)": Rule("withdraw", (_MARKET,)),
        "redeemUnderlying(uint256)": Rule("withdraw", (_MARKET,)),
    }

    @classmethod
    def underlying_symbol(cls, chain: ChainConfig, label: str) -> str | None:
        """A market's registry label is `moonwell.markets.<symbol of the token it holds>`."""
        return label.removeprefix("moonwell.markets.") if label.startswith("moonwell.markets.") else None
    config: MoonwellConfig
    state: MoonwellState | None

    State = MoonwellState

    def m_token(self, token: Asset) -> Asset:
        config = self.config
        if token.symbol not in config.markets:
            raise InputError(f"Moonwell on {self.ctx.chain.name} has no {token.symbol} market (known: {', '.join(config.markets)})", where="recommendation.token")
        return Asset(f"m{token.symbol}", config.markets[token.symbol], config.m_token_decimals)

    def rate(self, token: Asset) -> int:
        markets = self.state.markets if self.state else {}
        if token.symbol not in markets:
            raise InputError(f"Moonwell m{token.symbol} needs its exchange rate: add venues.moonwell.markets.{token.symbol}.exchange_rate to --prices, or use --rpc", where="--prices")
        return markets[token.symbol].exchange_rate

    def yearly(self, token: Asset) -> int:
        """The market's supply rate as a yearly ray (0 when the market file states none)."""
        market = (self.state.markets if self.state else {}).get(token.symbol)
        return yearly_ray(market.supply_rate) if market else 0

    def interest(self, token: Asset, principal: int) -> Tolerance:
        """±1 wei of truncation, plus what `principal` moves by while the exchange rate grows within the plan's window."""
        return with_interest(ONE_WEI, principal, self.yearly(token), self.ctx.window)

    def rate_checks(self, token: Asset, m_token: Asset, rate: int) -> list[RateCheck]:
        """Exchange rates only grow: a lower one means each mToken is worth less than the plan assumed, and one above
        the plan's plus its window's interest means the market moved by more than interest (the effects' tolerances
        would not hold). Read with exchangeRateCurrent (accrued to the block read), as the plan's rate was."""
        unit, decimals = f"{token.symbol} per {m_token.symbol}", 18 + token.decimals - m_token.decimals
        subject = f"{m_token.symbol} exchange rate"
        floor = RateCheck(m_token.address, "moonwell/MToken", "exchangeRateCurrent", {}, rate, unit, decimals, f"{subject} is at least the plan's")
        return rate_bounds(floor, subject, _growth(rate, self.yearly(token), self.ctx.window))

    def deposit(self, token: Asset, amount: Amount) -> Draft:
        m_token, wallet, rate = self.m_token(token), self.ctx.wallet, self.rate(token)
        minted = amount.converted(lambda v: v * EXP_SCALE // rate)
        return Draft(
            kind="deposit",
            description=f"Mint m{token.symbol} with {token.symbol} on Moonwell",
            target=m_token.address,
            target_label=f"Moonwell {m_token.symbol}",
            abi="moonwell/MToken",
            function="mint",
            args={"mintAmount": amount.expected},
            arg_tokens={"mintAmount": token},
            arg_amounts={"mintAmount": amount},
            spends=[Spend(token, m_token.address, f"Moonwell {m_token.symbol}", amount)],
            flows=lending_flows(wallet, token, m_token.address, f"Moonwell {m_token.symbol}", amount, m_token, minted,
                                self.interest(token, minted.max), +1),
            guards=[NO_ERROR],
            rates=self.rate_checks(token, m_token, rate),
            gas_action="deposit",
        )

    def withdraw(self, token: Asset, amount: Amount) -> Draft:
        config = self.config
        if token.symbol in config.redeems_native:
            raise InputError(
                f"Moonwell m{token.symbol} on {self.ctx.chain.name} redeems to native ETH, not {token.symbol} (MWethDelegate); mammon does not wrap ETH",
                where="recommendation.token",
            )
        m_token, wallet, rate = self.m_token(token), self.ctx.wallet, self.rate(token)
        if amount.is_all:
            held = self.position_value(token)
            if held is None:
                raise InputError(f"amount 'all' needs the Moonwell {token.symbol} position size: give a portfolio in --prices or use --rpc", where="recommendation.amount")
            known = self.ctx.held_shares(self.name, token.symbol)
            m_balance = known if known is not None else held * EXP_SCALE // rate
            out = m_balance * rate // EXP_SCALE
            low, high = widen(out, self.ctx.slippage_bps)
            moved, burned = Amount(out, low, max(high, out + accrual(out, self.yearly(token), self.ctx.window))), Amount.exact(m_balance)
            function, args, arg_tokens = "redeem", {"redeemTokens": ALL.expected}, {"redeemTokens": m_token}
            arg_amounts: dict[str, Amount] = {}
            requires = [Requirement(m_token, wallet, m_balance, f"wallet holds its {m_token.symbol}")]
        else:
            moved = amount
            burned = amount.converted(lambda v: v * EXP_SCALE // rate)
            function, args, arg_tokens = "redeemUnderlying", {"redeemAmount": amount.expected}, {"redeemAmount": token}
            arg_amounts = {"redeemAmount": amount}
            requires = [Requirement(m_token, wallet, burned.max, f"wallet holds at least the {m_token.symbol} to redeem")]
        flows = lending_flows(wallet, token, m_token.address, f"Moonwell {m_token.symbol}", moved, m_token, burned,
                              ONE_WEI if amount.is_all else self.interest(token, burned.max), -1)
        if amount.is_all:  # every mToken is burned; the underlying they pay grows with the rate
            grown = with_interest(EXACT, out, self.yearly(token), self.ctx.window)
            flows = [replace(f, tolerance=grown) if f.token == token else f for f in flows]
        return Draft(
            kind="withdraw",
            description=f"Redeem {'all ' if amount.is_all else ''}{token.symbol} from Moonwell",
            target=m_token.address,
            target_label=f"Moonwell {m_token.symbol}",
            abi="moonwell/MToken",
            function=function,
            args=args,
            arg_tokens=arg_tokens,
            arg_amounts=arg_amounts,
            flows=flows,
            outputs={"amount_out": Output(token, moved)},
            guards=[NO_ERROR],
            requires=requires,
            rates=self.rate_checks(token, m_token, rate),
            gas_action="withdraw",
        )
