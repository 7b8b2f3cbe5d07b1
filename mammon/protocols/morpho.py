"""Morpho vaults (ERC-4626): `deposit`, `withdraw`, and `redeem(all shares)` to withdraw everything.

Share math follows OpenZeppelin's ERC4626 (which MetaMorpho uses) with a decimals offset of
18 - asset decimals: deposits and redeems round down, withdraws round the burned shares up.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mammon.compile.amounts import Amount, widen
from mammon.errors import InputError
from mammon.plan.model import Tolerance
from mammon.protocols.base import Asset, Draft, Output, RateCheck, Requirement, Spend, Venue, lending_flows
from mammon.types import Address, UInt


ONE_WEI = Tolerance(kind="wei", value=1)  # share conversions round once


class VaultEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    address: Address
    asset: str
    kind: str = "erc4626"


class MorphoConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    vaults: dict[str, VaultEntry]


class VaultState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total_assets: UInt
    total_supply: UInt


class MorphoState(BaseModel):
    """`venues.morpho` of a world/market file: vault totals keyed by asset symbol (the vault the compiler
    picks) or, for the simulator, by vault name."""

    model_config = ConfigDict(extra="forbid")
    vaults: dict[str, VaultState] = {}


def shares_for_deposit(assets: int, state: VaultState, offset: int) -> int:
    return assets * (state.total_supply + 10**offset) // (state.total_assets + 1)


def shares_for_withdraw(assets: int, state: VaultState, offset: int) -> int:
    return -(-assets * (state.total_supply + 10**offset) // (state.total_assets + 1))


def assets_for_redeem(shares: int, state: VaultState, offset: int) -> int:
    return shares * (state.total_assets + 1) // (state.total_supply + 10**offset)


class Morpho(Venue):
    name = "morpho"
    display = "Morpho"
    Config = MorphoConfig
    config: MorphoConfig
    state: MorphoState | None

    State = MorphoState

    def vault(self, token: Asset) -> tuple[str, Asset]:
        config = self.config
        for name, entry in config.vaults.items():
            if entry.asset == token.symbol:
                return name, Asset(f"{name} shares", entry.address, 18)
        assets = sorted({v.asset for v in config.vaults.values()})
        raise InputError(f"no Morpho vault for {token.symbol} on {self.ctx.chain.name} (vault assets: {', '.join(assets)})", where="recommendation.token")

    def vault_state(self, token: Asset) -> VaultState:
        vaults = self.state.vaults if self.state else {}
        if token.symbol not in vaults:
            raise InputError(f"the Morpho {token.symbol} vault needs its share price: add venues.morpho.vaults.{token.symbol} (total_assets, total_supply) to --prices, or use --rpc", where="--prices")
        return vaults[token.symbol]

    def share_price_check(self, token: Asset, shares: Asset, state: VaultState, offset: int) -> RateCheck:
        """A lower share price than the plan assumed means the vault lost value: refuse the plan."""
        one_share = 10**shares.decimals
        return RateCheck(shares.address, "morpho/ERC4626", "convertToAssets", {"shares": one_share}, assets_for_redeem(one_share, state, offset),
                         f"{token.symbol} per share", token.decimals, "vault share price is at least the plan's")

    def deposit(self, token: Asset, amount: Amount) -> Draft:
        name, shares, wallet = *self.vault(token), self.ctx.wallet
        state, offset = self.vault_state(token), 18 - token.decimals
        minted = amount.converted(lambda v: shares_for_deposit(v, state, offset))
        return Draft(
            kind="deposit",
            description=f"Deposit {token.symbol} into Morpho vault {name}",
            target=shares.address,
            target_label=f"Morpho vault {name}",
            abi="morpho/ERC4626",
            function="deposit",
            args={"assets": amount.expected, "receiver": wallet},
            arg_tokens={"assets": token},
            arg_amounts={"assets": amount},
            spends=[Spend(token, shares.address, f"Morpho vault {name}", amount)],
            flows=lending_flows(wallet, token, shares.address, f"Morpho vault {name}", amount, shares, minted, ONE_WEI, +1),
            rates=[self.share_price_check(token, shares, state, offset)],
            gas_action="deposit",
        )

    def withdraw(self, token: Asset, amount: Amount) -> Draft:
        name, shares, wallet = *self.vault(token), self.ctx.wallet
        state, offset = self.vault_state(token), 18 - token.decimals
        if amount.is_all:
            held = self.position_value(token)
            if held is None:
                raise InputError(f"amount 'all' needs the Morpho {token.symbol} position size: give a portfolio in --prices or use --rpc", where="recommendation.amount")
            known = self.ctx.held_shares(self.name, token.symbol)
            share_balance = known if known is not None else shares_for_deposit(held, state, offset)
            out = assets_for_redeem(share_balance, state, offset)
            moved, burned = Amount(out, *widen(out, self.ctx.slippage_bps)), Amount.exact(share_balance)
            function, args = "redeem", {"shares": share_balance, "receiver": wallet, "owner": wallet}
            arg_tokens, arg_amounts = {"shares": shares}, {}
            requires = [Requirement(shares, wallet, share_balance, f"wallet holds the {name} shares it redeems")]
        else:
            moved = amount
            burned = amount.converted(lambda v: shares_for_withdraw(v, state, offset))
            function, args = "withdraw", {"assets": amount.expected, "receiver": wallet, "owner": wallet}
            arg_tokens, arg_amounts = {"assets": token}, {"assets": amount}
            requires = [Requirement(shares, wallet, burned.max, f"wallet holds the {name} shares to burn")]
        return Draft(
            kind="withdraw",
            description=f"{'Redeem all' if amount.is_all else 'Withdraw'} {token.symbol} from Morpho vault {name}",
            target=shares.address,
            target_label=f"Morpho vault {name}",
            abi="morpho/ERC4626",
            function=function,
            args=args,
            arg_tokens=arg_tokens,
            arg_amounts=arg_amounts,
            flows=lending_flows(wallet, token, shares.address, f"Morpho vault {name}", moved, shares, burned, ONE_WEI, -1),
            outputs={"amount_out": Output(token, moved)},
            requires=requires,
            rates=[self.share_price_check(token, shares, state, offset)],
            gas_action="withdraw",
        )
