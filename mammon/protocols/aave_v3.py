"""Aave V3 Pool: `supply` and `withdraw` (type(uint256).max withdraws the whole aToken balance).

The Pool holds nothing itself: supplied tokens sit in the reserve's aToken contract, which mints
aTokens 1:1 (their balance then grows with the liquidity index). Withdrawing needs no approval.

aToken balances grow every second at the reserve's liquidity rate (`venues.aave_v3.reserves.<SYM>.
liquidity_rate`, read from the Pool with --rpc): between the runner's balance reads before and after a
step the whole position earns interest, so the aToken effect's tolerance adds what it can earn at that
rate within the plan's validity window (`with_interest`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mammon.compile.amounts import ALL, Amount, widen
from mammon.errors import InputError
from mammon.plan.model import Tolerance
from mammon.protocols.base import RAY, Asset, Draft, Output, PullRule, Requirement, Rule, Spend, Venue, accrual, lending_flows, with_interest
from mammon.types import Address, UInt
from mammon.units import format_amount

# aToken balances are rayMul(scaled, index) with half-up rounding: a supply or withdraw can be off by a wei or two.
ATOKEN_TOLERANCE = Tolerance(kind="wei", value=2)


class AaveConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool: Address
    a_tokens: dict[str, Address]
    pool_addresses_provider: Address | None = None
    pool_data_provider: Address | None = None
    faucet: Address | None = None  # testnets: Aave's token faucet


class ReserveState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    liquidity_index: UInt = Field(RAY, description="ray (1e27 = 1.0): the reserve's normalized income")
    liquidity_rate: UInt = Field(0, description="ray per year (the reserve's currentLiquidityRate); 0 keeps the index constant")


class AaveState(BaseModel):
    """`venues.aave_v3` of a world/market file: index and rate per reserve, keyed by underlying symbol."""

    model_config = ConfigDict(extra="forbid")
    reserves: dict[str, ReserveState] = {}


class AaveV3(Venue):
    name = "aave_v3"
    display = "Aave V3"
    aliases = ("aave",)
    Config = AaveConfig
    calls = {  # the Pool's calls, as review checks them
        "supply(address,uint256,address,uint16)": Rule("deposit", (r"aave_v3\.pool",), {"asset": "token", "onBehalfOf": "wallet"},
                                                       pulls=(PullRule("amount", "asset"),)),
        "withdraw(address,uint256,address)": Rule("withdraw", (r"aave_v3\.pool",), {"asset": "token", "to": "wallet"}),
    }
    config: AaveConfig
    State = AaveState
    state: AaveState | None

    def rate(self, token: Asset) -> int:
        reserve = (self.state.reserves if self.state else {}).get(token.symbol)
        return reserve.liquidity_rate if reserve else 0

    def a_token_tolerance(self, token: Asset, principal: int) -> Tolerance:
        """±2 wei of ray rounding, plus the interest `principal` earns within the plan's window at the reserve's rate."""
        return with_interest(ATOKEN_TOLERANCE, principal, self.rate(token), self.ctx.window)

    def a_token(self, token: Asset) -> Asset:
        config = self.config
        if token.symbol not in config.a_tokens:
            raise InputError(f"Aave V3 on {self.ctx.chain.name} has no reserve for {token.symbol} (known: {', '.join(config.a_tokens)})", where="recommendation.token")
        return Asset(f"a{token.symbol}", config.a_tokens[token.symbol], token.decimals)

    def deposit(self, token: Asset, amount: Amount) -> Draft:
        a_token, wallet, pool = self.a_token(token), self.ctx.wallet, self.config.pool
        held = self.position_value(token)
        return Draft(
            kind="deposit",
            description=f"Supply {token.symbol} to Aave V3",
            target=pool,
            target_label="Aave V3 Pool",
            abi="aave_v3/Pool",
            function="supply",
            args={"asset": token.address, "amount": amount.expected, "onBehalfOf": wallet, "referralCode": 0},
            arg_tokens={"amount": token},
            arg_amounts={"amount": amount},
            spends=[Spend(token, pool, "Aave V3 Pool", amount)],
            flows=lending_flows(wallet, token, a_token.address, f"Aave {a_token.symbol} reserve", amount, a_token, amount,
                                self.a_token_tolerance(token, (held or 0) + amount.max), +1),
            # a first supply (no position, or one not known) also initialises the balance and sets the collateral bit
            gas_action="deposit" if held else "deposit_first",
        )

    def withdraw(self, token: Asset, amount: Amount) -> Draft:
        a_token, wallet = self.a_token(token), self.ctx.wallet
        if amount.is_all:
            held = self.position_value(token)
            if held is None:
                raise InputError(f"amount 'all' needs the Aave {token.symbol} position size: give a portfolio in --prices or use --rpc", where="recommendation.amount")
            low, high = widen(held, self.ctx.slippage_bps)
            moved = Amount(held, low, max(high, held + accrual(held, self.rate(token), self.ctx.window)))  # all = what it has earned too
            encoded = ALL.expected
            requires = [Requirement(a_token, wallet, low, f"wallet holds about {format_amount(held, a_token.decimals, a_token.symbol)}")]
        else:
            moved, encoded = amount, amount.expected
            requires = [Requirement(a_token, wallet, amount.max, f"wallet holds at least the {a_token.symbol} to withdraw")]
        return Draft(
            kind="withdraw",
            description=f"Withdraw {'all ' if amount.is_all else ''}{token.symbol} from Aave V3",
            target=self.config.pool,
            target_label="Aave V3 Pool",
            abi="aave_v3/Pool",
            function="withdraw",
            args={"asset": token.address, "amount": encoded, "to": wallet},
            arg_tokens={"amount": token},
            arg_amounts={} if amount.is_all else {"amount": amount},
            flows=lending_flows(wallet, token, a_token.address, f"Aave {a_token.symbol} reserve", moved, a_token, moved,
                                self.a_token_tolerance(token, max(self.position_value(token) or 0, moved.max)), -1),
            outputs={"amount_out": Output(token, moved)},
            requires=requires,
            gas_action="withdraw",
        )
