"""Aave V3 Pool: `supply` and `withdraw` (type(uint256).max withdraws the whole aToken balance).

The Pool holds nothing itself: supplied tokens sit in the reserve's aToken contract, which mints
aTokens 1:1 (their balance then grows with the liquidity index). Withdrawing needs no approval.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mammon.compile.amounts import ALL, Amount, widen
from mammon.errors import InputError
from mammon.plan.model import Tolerance
from mammon.protocols.base import Asset, Draft, Output, Requirement, Spend, Venue, lending_flows
from mammon.types import Address
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


class AaveV3(Venue):
    name = "aave_v3"
    display = "Aave V3"
    Config = AaveConfig
    config: AaveConfig

    def a_token(self, token: Asset) -> Asset:
        config = self.config
        if token.symbol not in config.a_tokens:
            raise InputError(f"Aave V3 on {self.ctx.chain.name} has no reserve for {token.symbol} (known: {', '.join(config.a_tokens)})", where="recommendation.token")
        return Asset(f"a{token.symbol}", config.a_tokens[token.symbol], token.decimals)

    def deposit(self, token: Asset, amount: Amount) -> Draft:
        a_token, wallet, pool = self.a_token(token), self.ctx.wallet, self.config.pool
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
            flows=lending_flows(wallet, token, a_token.address, f"Aave {a_token.symbol} reserve", amount, a_token, amount, ATOKEN_TOLERANCE, +1),
            gas_action="deposit",
        )

    def withdraw(self, token: Asset, amount: Amount) -> Draft:
        a_token, wallet = self.a_token(token), self.ctx.wallet
        if amount.is_all:
            held = self.position_value(token)
            if held is None:
                raise InputError(f"amount 'all' needs the Aave {token.symbol} position size: give a portfolio in --prices or use --rpc", where="recommendation.amount")
            low, high = widen(held, self.ctx.slippage_bps)
            moved = Amount(held, low, high)
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
            flows=lending_flows(wallet, token, a_token.address, f"Aave {a_token.symbol} reserve", moved, a_token, moved, ATOKEN_TOLERANCE, -1),
            outputs={"amount_out": Output(token, moved)},
            requires=requires,
            gas_action="withdraw",
        )
