"""ERC-4626 vaults: `deposit`, `withdraw`, and `redeem(all shares)` to withdraw everything.

One adapter serves every ERC-4626 vault (venue `erc4626`); Morpho's MetaMorpho and Vault V2 vaults are
one use of it (venue `morpho`, whose shares have 18 decimals by convention). Share math follows
OpenZeppelin's ERC4626 with a decimals offset of `share decimals - asset decimals` (0 for a plain
OpenZeppelin vault, 18 - asset decimals for MetaMorpho); with S = totalSupply, T = totalAssets,
o = 10**offset:

    deposit   shares = assets * (S + o) // (T + 1)          rounds down (fewer shares to the user)
    withdraw  shares = ceil(assets * (S + o) / (T + 1))     rounds up   (more shares burned)
    redeem    assets = shares * (T + 1) // (S + o)          rounds down (fewer assets out)

Share decimals come from the vault's `decimals()` with `--rpc`; for static plans from the chain
config's `share_decimals` (else the venue's convention: 18 for Morpho, the asset's for a plain vault).

Share prices that grow with time: a MetaMorpho vault's totalAssets include its Morpho Blue positions'
interest, so its share price rises every second; a plain OpenZeppelin vault's rises only when assets are
sent to it (a donation, a strategy's harvest). ERC-4626 has no rate view: the rate is what the market file
states for the vault (`venues.<venue>.vaults.<SYM>.share_price_rate`, a yearly ray like Aave's liquidity
rate; the default world gives the Morpho vaults 4.50%/yr and 2.50%/yr), 0 (a price that moves only by
donations) when none is stated; under --rpc the larger of that and twice the growth measured on the node
over the last hour (`mammon.vault_growth`), with where it came from (`share_price_rate_source`). With a rate, the
shares a deposit mints or a withdraw burns and the assets a redeem-all pays carry the interest at that rate
over the plan's window (`with_interest`), and the share-price precondition gets an upper bound: the plan's
price plus that interest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from mammon.chains import ChainConfig
from mammon.compile.amounts import Amount, widen
from mammon.errors import InputError
from mammon.plan.model import Tolerance
from mammon.protocols.base import (RAY, Asset, Draft, Flow, Output, PullRule, RateCheck, Requirement, Rule, Spend, Venue, EXACT, accrual,
                                   lending_flows, rate_bounds, with_interest)
from mammon.types import Address, UInt


ONE_WEI = Tolerance(kind="wei", value=1)  # share conversions round once

VaultKind = Literal["erc4626", "metamorpho_v1", "vault_v2"]


class VaultEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address
    asset: str = Field(description="symbol of the vault's asset (a token of the chain)")
    asset_address: Address | None = Field(None, description="the asset's address as the source lists it (checked against the token)")
    kind: VaultKind = "erc4626"
    share_decimals: int | None = Field(None, ge=0, le=36, description="decimals() of the shares; default: the venue's convention")


class VaultsConfig(BaseModel):
    """`protocols.erc4626` of a chain config: named vaults."""

    model_config = ConfigDict(extra="forbid")
    vaults: dict[str, VaultEntry]


class MorphoConfig(VaultsConfig):
    """`protocols.morpho`: the vaults, plus Morpho's own contracts (listed for review, not called)."""

    morpho_blue: Address | None = None
    meta_morpho_factory: Address | None = None
    meta_morpho_factory_v1_0: Address | None = None
    vault_v2_factory: Address | None = None
    public_allocator: Address | None = None


class VaultState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total_assets: UInt
    total_supply: UInt
    share_decimals: int | None = Field(None, ge=0, le=36, description="the vault's decimals(), as read from a node")
    share_price_rate: UInt = Field(0, description="ray per year (1e27 = 100%): how fast the share price grows by time "
                                                  "(a MetaMorpho vault's interest); 0: it moves only by donations, as a plain OpenZeppelin vault's")
    share_price_rate_measured: UInt | None = Field(None, description="ray per year: the growth measured on the node over the last "
                                                                     "hour's blocks (plan --rpc), before the safety factor")
    share_price_rate_source: str | None = Field(None, description="where share_price_rate came from (plan --rpc): measured, "
                                                                  "or stated (and measured, or not); shown with the tolerances")
    share_price_rate_unmeasured: str | None = Field(None, description="why the node could not measure the growth (no history, "
                                                                      "a vault younger than one block), shown in the plan's notes")


class MorphoState(BaseModel):
    """`venues.<venue>` of a world/market file: vault totals keyed by asset symbol (the vault the compiler
    picks) or, for the simulator, by vault name."""

    model_config = ConfigDict(extra="forbid")
    vaults: dict[str, VaultState] = {}


VaultsState = MorphoState


def shares_for_deposit(assets: int, state: VaultState, offset: int) -> int:
    return assets * (state.total_supply + 10**offset) // (state.total_assets + 1)


def shares_for_withdraw(assets: int, state: VaultState, offset: int) -> int:
    return -(-assets * (state.total_supply + 10**offset) // (state.total_assets + 1))


def assets_for_redeem(shares: int, state: VaultState, offset: int) -> int:
    return shares * (state.total_assets + 1) // (state.total_supply + 10**offset)


def decimals_offset(share_decimals: int, asset_decimals: int, where: str) -> int:
    """OpenZeppelin's `_decimalsOffset()`: share decimals above the asset's (never negative)."""
    if share_decimals < asset_decimals:
        raise InputError(f"shares have {share_decimals} decimals, fewer than the asset's {asset_decimals}: "
                         "not OpenZeppelin ERC-4626 share math, which mammon needs to predict shares", where=where)
    return share_decimals - asset_decimals


_VAULT = r"(morpho|erc4626)\.vaults\.[^.]+\.address"


class ERC4626Vaults(Venue):
    """Any ERC-4626 vault with OpenZeppelin's share math (venue `erc4626`)."""

    name = "erc4626"
    display = "ERC-4626"
    Config = VaultsConfig
    calls = {  # the vaults' calls, as review checks them (Morpho's vaults are ERC-4626 vaults: the same rules)
        "deposit(uint256,address)": Rule("deposit", (_VAULT,), {"receiver": "wallet"}, pulls=(PullRule("assets", "@underlying"),)),
        "withdraw(uint256,address,address)": Rule("withdraw", (_VAULT,), {"receiver": "wallet", "owner": "wallet"}),
        "redeem(uint256,address,address)": Rule("withdraw", (_VAULT,), {"receiver": "wallet", "owner": "wallet"}),
    }

    @classmethod
    def underlying_symbol(cls, chain: ChainConfig, label: str) -> str | None:
        """A vault's registry label is `<venue>.vaults.<name>.address`; the entry's `asset` is the token it holds."""
        if not (label.startswith(f"{cls.name}.vaults.") and label.endswith(".address")):
            return None
        protocol, _, name, _ = label.split(".")
        entry = chain.protocols.get(protocol, {}).get("vaults", {}).get(name, {})
        return entry.get("asset") if isinstance(entry, dict) else None
    config: VaultsConfig
    state: MorphoState | None
    State = MorphoState
    default_share_decimals: ClassVar[int | None] = None  # None: the asset's decimals (a plain OpenZeppelin vault)
    # A plain OpenZeppelin vault keeps the assets it is given, so its own balance moves by the deposit or withdrawal.
    # A MetaMorpho vault forwards them to its Morpho Blue markets (and takes withdrawals back from them) within the
    # call: its own balance does not move, and where the assets go is the vault's allocation, not the plan's.
    holds_assets: ClassVar[bool] = True

    def flows(self, wallet: str, token: Asset, vault: str, label: str, moved: Amount, shares: Asset, shares_moved: Amount,
              tolerance: Tolerance, direction: int) -> list[Flow]:
        """The wallet's asset and share movements, and the vault's own asset balance when it keeps its assets."""
        flows = lending_flows(wallet, token, vault, label, moved, shares, shares_moved, tolerance, direction)
        return flows if self.holds_assets else [f for f in flows if f.account != vault]

    def entry(self, token: Asset) -> tuple[str, VaultEntry]:
        for name, entry in self.config.vaults.items():
            if entry.asset == token.symbol:
                return name, entry
        assets = sorted({v.asset for v in self.config.vaults.values()})
        raise InputError(f"no {self.display} vault for {token.symbol} on {self.ctx.chain.name} (vault assets: {', '.join(assets)})", where="recommendation.token")

    def share_decimals(self, token: Asset, entry: VaultEntry, state: VaultState | None) -> int:
        """The vault's share decimals: as read from the node, else the chain config, else the venue's convention."""
        for value in (state.share_decimals if state else None, entry.share_decimals, self.default_share_decimals):
            if value is not None:
                return value
        return token.decimals

    def vault(self, token: Asset) -> tuple[str, Asset]:
        name, entry = self.entry(token)
        return name, Asset(f"{name} shares", entry.address, self.share_decimals(token, entry, self.known_state(token)))

    def label(self, name: str) -> str:
        return f"{self.display} vault {name}"

    def known_state(self, token: Asset) -> VaultState | None:
        return (self.state.vaults if self.state else {}).get(token.symbol)

    def vault_state(self, token: Asset) -> VaultState:
        state = self.known_state(token)
        if state is None:
            raise InputError(f"the {self.display} {token.symbol} vault needs its share price: add venues.{self.name}.vaults.{token.symbol} "
                             "(total_assets, total_supply) to --prices, or use --rpc", where="--prices")
        return state

    def offset(self, token: Asset, shares: Asset) -> int:
        return decimals_offset(shares.decimals, token.decimals, f"chain {self.ctx.chain.name}: protocols.{self.name}.vaults ({token.symbol})")

    def interest(self, token: Asset, principal: int, base: Tolerance = ONE_WEI) -> Tolerance:
        """`base`, plus what `principal` moves by while the share price grows at the stated rate within the plan's window."""
        state = self.known_state(token)
        return with_interest(base, principal, state.share_price_rate if state else 0, self.ctx.window,
                             state.share_price_rate_source if state else None)

    def rate_notes(self, token: Asset) -> list[str]:
        """Where the share price's growth rate came from, when it was read from a node (measured or why not)."""
        state, (name, _) = self.known_state(token), self.entry(token)
        if state is None or state.share_price_rate_source is None:
            return []
        rate = f"{state.share_price_rate * 100 / RAY:.2f}%/yr"
        why = f": {state.share_price_rate_unmeasured}" if state.share_price_rate_unmeasured else ""
        return [f"{self.label(name)}: share price grows at {rate} in this plan ({state.share_price_rate_source}{why})"]

    def share_price_checks(self, token: Asset, shares: Asset, state: VaultState, offset: int) -> list[RateCheck]:
        """A lower share price than the plan assumed means the vault lost value: refuse the plan. With a stated rate,
        one above the plan's plus its window's interest moved by more than the effects' tolerances allow."""
        one_share = 10**shares.decimals
        price = assets_for_redeem(one_share, state, offset)
        floor = RateCheck(shares.address, "morpho/ERC4626", "convertToAssets", {"shares": one_share}, price,
                          f"{token.symbol} per share", token.decimals, "vault share price is at least the plan's")
        return rate_bounds(floor, "vault share price", self.interest(token, price, EXACT))

    def deposit(self, token: Asset, amount: Amount) -> Draft:
        name, shares, wallet = *self.vault(token), self.ctx.wallet
        state = self.vault_state(token)
        offset = self.offset(token, shares)
        minted = amount.converted(lambda v: shares_for_deposit(v, state, offset))
        label = self.label(name)
        return Draft(
            kind="deposit",
            description=f"Deposit {token.symbol} into {label}",
            target=shares.address,
            target_label=label,
            abi="morpho/ERC4626",
            function="deposit",
            args={"assets": amount.expected, "receiver": wallet},
            arg_tokens={"assets": token},
            arg_amounts={"assets": amount},
            spends=[Spend(token, shares.address, label, amount)],
            flows=self.flows(wallet, token, shares.address, label, amount, shares, minted, self.interest(token, minted.max), +1),
            rates=self.share_price_checks(token, shares, state, offset),
            gas_action="deposit",
            notes=self.rate_notes(token),
        )

    def withdraw(self, token: Asset, amount: Amount) -> Draft:
        name, shares, wallet = *self.vault(token), self.ctx.wallet
        state = self.vault_state(token)
        offset = self.offset(token, shares)
        label = self.label(name)
        if amount.is_all:
            held = self.position_value(token)
            if held is None:
                raise InputError(f"amount 'all' needs the {self.display} {token.symbol} position size: give a portfolio in --prices or use --rpc", where="recommendation.amount")
            known = self.ctx.held_shares(self.name, token.symbol)
            share_balance = known if known is not None else shares_for_deposit(held, state, offset)
            out = assets_for_redeem(share_balance, state, offset)
            low, high = widen(out, self.ctx.slippage_bps)
            grown = accrual(out, state.share_price_rate, self.ctx.window)
            moved, burned = Amount(out, low, max(high, out + grown)), Amount.exact(share_balance)
            function, args = "redeem", {"shares": share_balance, "receiver": wallet, "owner": wallet}
            arg_tokens, arg_amounts = {"shares": shares}, {}
            requires = [Requirement(shares, wallet, share_balance, f"wallet holds the {name} shares it redeems")]
        else:
            moved = amount
            burned = amount.converted(lambda v: shares_for_withdraw(v, state, offset))
            function, args = "withdraw", {"assets": amount.expected, "receiver": wallet, "owner": wallet}
            arg_tokens, arg_amounts = {"assets": token}, {"assets": amount}
            requires = [Requirement(shares, wallet, burned.max, f"wallet holds the {name} shares to burn")]
        flows = self.flows(wallet, token, shares.address, label, moved, shares, burned,
                              ONE_WEI if amount.is_all else self.interest(token, burned.max), -1)
        if amount.is_all:  # every share is burned; the assets they pay grow with the share price
            flows = [replace(f, tolerance=self.interest(token, moved.expected, EXACT)) if f.token == token else f for f in flows]
        return Draft(
            kind="withdraw",
            description=f"{'Redeem all' if amount.is_all else 'Withdraw'} {token.symbol} from {label}",
            target=shares.address,
            target_label=label,
            abi="morpho/ERC4626",
            function=function,
            args=args,
            arg_tokens=arg_tokens,
            arg_amounts=arg_amounts,
            flows=flows,
            outputs={"amount_out": Output(token, moved)},
            requires=requires,
            rates=self.share_price_checks(token, shares, state, offset),
            gas_action="withdraw",
            notes=self.rate_notes(token),
        )


class Morpho(ERC4626Vaults):
    """Morpho's MetaMorpho and Vault V2 vaults: ERC-4626 whose shares have 18 decimals."""

    name = "morpho"
    display = "Morpho"
    Config = MorphoConfig
    config: MorphoConfig
    default_share_decimals = 18
    holds_assets = False
