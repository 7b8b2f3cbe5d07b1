"""ERC-4626 vaults with OpenZeppelin's math (plain OpenZeppelin vaults, MetaMorpho, Morpho Vault V2).

`_decimalsOffset = share decimals - asset decimals` (0 for a plain OpenZeppelin vault, 18 - asset
decimals for MetaMorpho); with S = totalSupply, T = totalAssets, o = 10**offset:

    deposit   shares = assets * (S + o) // (T + 1)          rounds down (fewer shares to the user)
    withdraw  shares = ceil(assets * (S + o) / (T + 1))     rounds up   (more shares burned)
    redeem    assets = shares * (T + 1) // (S + o)          rounds down (fewer assets out)

`withdraw` above `maxWithdraw(owner)` (= previewRedeem(balanceOf(owner))) reverts
ERC4626ExceededMaxWithdraw(owner, assets, max); `redeem` above the owner's share balance reverts
ERC4626ExceededMaxRedeem(owner, shares, max). When owner != msg.sender the share allowance is spent
first. The vault contract holds `total_assets` of the asset (its idle cash in the simulator).
State comes from `venues.<venue>.vaults.<asset symbol or vault name>` (total_assets, total_supply).
Vault V2 entries (`kind: vault_v2`) report 0 from maxWithdraw/maxRedeem and skip those checks.
With a `share_price_rate` (ray per year) totalAssets grows linearly with time, as a MetaMorpho vault's
does with its markets' interest: views see the grown figure, and each deposit/withdraw/redeem first books
it, as MetaMorpho's `_accrueInterest` does (the vault's own asset balance, its idle cash here, is unchanged).
"""

from __future__ import annotations

from mammon.sim.core import MAX_UINT256, Chain, Msg, SimRevert, addr, external
from mammon.sim.tokens import ERC20

RAY_YEAR = 10**27 * 365 * 24 * 3600


class Vault(ERC20):
    kind = "vault"
    abis = ("morpho/ERC4626", "erc20/ERC20")

    def __init__(self, chain: Chain, address: str, label: str, *, asset: str, asset_decimals: int, share_decimals: int,
                 vault_kind: str = "erc4626", share_price_rate: int = 0) -> None:
        super().__init__(chain, address, label, symbol=label, decimals=share_decimals)
        self.asset_ = addr(asset)
        self.offset = share_decimals - asset_decimals
        self.vault_kind = vault_kind
        self.share_price_rate = share_price_rate

    # ------------------------------------------------------------------ math

    def set_total_assets(self, total: int) -> None:
        """totalAssets now (building a world): growth by time starts from the current block."""
        self.sstore(total, "totalAssets")
        self.sstore(self.chain.timestamp, "accruedAt")

    def total_assets(self) -> int:
        stored = self.sload("totalAssets")
        if not self.share_price_rate:
            return stored
        return stored + stored * self.share_price_rate * max(0, self.chain.timestamp - self.sload("accruedAt")) // RAY_YEAR

    def accrue(self) -> None:
        """Book the growth since the last call in totalAssets. The vault's own asset balance does not change: a
        MetaMorpho vault's interest accrues in its Morpho Blue positions, not as cash in the vault."""
        if not self.share_price_rate:
            return
        self.sstore(self.total_assets(), "totalAssets")
        self.sstore(self.chain.timestamp, "accruedAt")

    def to_shares(self, assets: int, *, up: bool) -> int:
        num, den = assets * (self.supply() + 10**self.offset), self.total_assets() + 1
        return -(-num // den) if up else num // den

    def to_assets(self, shares: int, *, up: bool) -> int:
        num, den = shares * (self.total_assets() + 1), self.supply() + 10**self.offset
        return -(-num // den) if up else num // den

    def max_withdraw(self, owner: str) -> int:
        return 0 if self.vault_kind == "vault_v2" else self.to_assets(self.balance(owner), up=False)

    def max_redeem(self, owner: str) -> int:
        return 0 if self.vault_kind == "vault_v2" else self.balance(owner)

    # ------------------------------------------------------------------ ERC-4626

    @external
    def deposit(self, msg: Msg, assets: int, receiver: str) -> int:
        self.accrue()
        shares = self.to_shares(assets, up=False)
        self.call(self.asset_, "transferFrom", from_=msg.sender, to=self.address, value=assets)
        self.sstore(self.total_assets() + assets, "totalAssets")
        self.mint_to(receiver, shares)
        self.emit("Deposit", sender=addr(msg.sender), owner=addr(receiver), assets=assets, shares=shares)
        return shares

    @external
    def withdraw(self, msg: Msg, assets: int, receiver: str, owner: str) -> int:
        self.accrue()
        if self.vault_kind != "vault_v2":
            most = self.max_withdraw(owner)
            if assets > most:
                raise SimRevert.custom("ERC4626ExceededMaxWithdraw", ["address", "uint256", "uint256"], [owner, assets, most])
        shares = self.to_shares(assets, up=True)
        self._withdraw(msg.sender, receiver, owner, assets, shares)
        return shares

    @external
    def redeem(self, msg: Msg, shares: int, receiver: str, owner: str) -> int:
        self.accrue()
        if self.vault_kind != "vault_v2":
            most = self.max_redeem(owner)
            if shares > most:
                raise SimRevert.custom("ERC4626ExceededMaxRedeem", ["address", "uint256", "uint256"], [owner, shares, most])
        assets = self.to_assets(shares, up=False)
        self._withdraw(msg.sender, receiver, owner, assets, shares)
        return assets

    def _withdraw(self, caller: str, receiver: str, owner: str, assets: int, shares: int) -> None:
        if addr(caller) != addr(owner):
            self.spend_allowance(owner, caller, shares)
        self.burn_from(owner, shares)
        self.sstore(self.total_assets() - assets, "totalAssets")
        self.call(self.asset_, "transfer", to=receiver, value=assets)
        self.emit("Withdraw", sender=addr(caller), receiver=addr(receiver), owner=addr(owner), assets=assets, shares=shares)

    # ------------------------------------------------------------------ views

    @external(view=True)
    def asset(self, msg: Msg) -> str:
        return self.asset_

    @external(view=True)
    def totalAssets(self, msg: Msg) -> int:
        return self.total_assets()

    @external(view=True)
    def convertToShares(self, msg: Msg, assets: int) -> int:
        return self.to_shares(assets, up=False)

    @external(view=True)
    def convertToAssets(self, msg: Msg, shares: int) -> int:
        return self.to_assets(shares, up=False)

    @external(view=True)
    def previewDeposit(self, msg: Msg, assets: int) -> int:
        return self.to_shares(assets, up=False)

    @external(view=True)
    def previewWithdraw(self, msg: Msg, assets: int) -> int:
        return self.to_shares(assets, up=True)

    @external(view=True)
    def previewRedeem(self, msg: Msg, shares: int) -> int:
        return self.to_assets(shares, up=False)

    @external(view=True)
    def maxWithdraw(self, msg: Msg, owner: str) -> int:
        return self.max_withdraw(owner)

    @external(view=True)
    def maxRedeem(self, msg: Msg, owner: str) -> int:
        return self.max_redeem(owner)

    @external(view=True)
    def maxDeposit(self, msg: Msg, receiver: str) -> int:
        return 0 if self.vault_kind == "vault_v2" else MAX_UINT256
